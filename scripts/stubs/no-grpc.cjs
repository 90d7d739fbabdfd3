// dockerode loads gRPC and its proto loader at start for BuildKit sessions, which berth never
// opens (it builds with the classic builder, `version: '1'`). In the agent bundle they cost
// ~100 ms of start-up on every host and most of the bundle; this stub stands in and says so if
// anything ever reaches for it.
const unavailable = () => {
  throw new Error('BuildKit sessions (gRPC) are not available in the berth agent');
};
module.exports = new Proxy({}, { get: (_t, key) => (key === '__esModule' ? false : unavailable) });
