// The agent talks to the local Docker socket only; docker-modem's SSH transport is never used
// on a host, so the agent bundle carries this stub instead of ssh2 and its native parts.
module.exports = { Client: class { constructor() { throw new Error('ssh is not available in the berth agent'); } } };
