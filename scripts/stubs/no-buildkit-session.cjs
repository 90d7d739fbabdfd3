// dockerode loads its BuildKit session module at start, and with it gRPC and a proto loader:
// ~100 ms of every agent's start-up on every host. berth never opens a session (it builds with
// the classic builder, `version: '1'`), so the agent bundle carries this stand-in, which says so
// if anything ever reaches for it. gRPC itself stays in the bundle for etcd3, loaded only there.
module.exports = function withSession() {
  throw new Error('BuildKit sessions are not available in the berth agent');
};
