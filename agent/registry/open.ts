// The Registry a host's configuration names.
import { embeddedRegistry } from './embedded.js';
import { etcdRegistry } from './etcd.js';
import { done, type BackendConfig, type Outcome, type Registry } from './types.js';

export async function openRegistry(backend: BackendConfig, localHost: string): Promise<Outcome<Registry>> {
  if (backend.kind === 'etcd') return etcdRegistry(backend);
  return done(embeddedRegistry(localHost));
}
