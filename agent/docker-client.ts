// The agent's Docker Engine client (dockerode over the local socket), created on first use so a
// plan without containers never loads it.
import type Docker from 'dockerode';

let client: Promise<Docker> | undefined;

export function docker(): Promise<Docker> {
  client ??= import('dockerode').then(({ default: Dockerode }) => new Dockerode({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' }));
  return client;
}
