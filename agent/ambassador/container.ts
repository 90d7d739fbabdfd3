// The ambassador's container: the haproxy image, the config directory mounted read-only, on the
// host's network (applications reach it at localhost:PORT) or on the named networks with
// aliases (they reach it at ALIAS:PORT). Recreated only when that spec changes; a config change
// is a reload, never a new container.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { configDir, containerName, type AmbassadorSpec } from './spec.js';

export type ContainerResult = { ok: true; id: string; action: 'none' | 'created' | 'recreated' | 'started' } | { ok: false; message: string };

const HASH_LABEL = 'berth.ambassador.hash';

function createOptions(spec: AmbassadorSpec): Docker.ContainerCreateOptions {
  const net = spec.network;
  const first = net.mode === 'networks' ? net.networks[0] : undefined;
  return {
    name: containerName(spec.name),
    Image: spec.image,
    Labels: { 'berth.ambassador': spec.name },
    HostConfig: {
      NetworkMode: net.mode === 'host' ? 'host' : first!.name,
      Binds: [`${configDir(spec.name)}:/etc/haproxy-berth:ro`],
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
    },
    ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.name]: { Aliases: first.aliases } } } } : {}),
  };
}

export const specHash = (spec: AmbassadorSpec): string =>
  createHash('sha256').update(JSON.stringify({ o: createOptions(spec), n: spec.network })).digest('hex').slice(0, 16);

export async function ensureAmbassadorContainer(docker: Docker, spec: AmbassadorSpec): Promise<ContainerResult> {
  const name = containerName(spec.name);
  const hash = specHash(spec);
  try {
    const info = await docker.getContainer(name).inspect().catch(() => undefined);
    if (info && info.Config.Labels?.[HASH_LABEL] === hash) {
      if (info.State.Running) return { ok: true, id: info.Id, action: 'none' };
      await docker.getContainer(info.Id).start();
      return { ok: true, id: info.Id, action: 'started' };
    }
    if (info) await docker.getContainer(info.Id).remove({ force: true });
    const opts = createOptions(spec);
    opts.Labels = { ...opts.Labels, [HASH_LABEL]: hash };
    const c = await docker.createContainer(opts);
    if (spec.network.mode === 'networks') {
      for (const n of spec.network.networks.slice(1)) await docker.getNetwork(n.name).connect({ Container: c.id, EndpointConfig: { Aliases: n.aliases } });
    }
    await c.start();
    return { ok: true, id: c.id, action: info ? 'recreated' : 'created' };
  } catch (e) {
    return { ok: false, message: `ambassador container ${name}: ${(e as Error).message}` };
  }
}

export async function removeAmbassadorContainer(docker: Docker, name: string): Promise<boolean> {
  return docker.getContainer(containerName(name)).remove({ force: true }).then(() => true, () => false);
}
