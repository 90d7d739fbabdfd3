// Loads the etcd3 client. In the agent bundle etcd3 cannot find the .proto files it reads at
// start-up (`${__dirname}/../proto/rpc.proto`: there is no node_modules on a host, and no
// __dirname in an ES module), so the bundle carries their text, writes them once under berth's
// directory, and points etcd3's __dirname there while it initialises.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { berthDir } from './paths.js';

type Etcd3Module = typeof import('etcd3');
let loading: Promise<Etcd3Module> | undefined;

export function loadEtcd3(): Promise<Etcd3Module> {
  loading ??= load();
  return loading;
}

async function load(): Promise<Etcd3Module> {
  const bundled = await import('./etcd-protos.js').then((m) => m.protos).catch(() => undefined);
  if (!bundled) return import('etcd3');
  const base = join(berthDir(), 'etcd3', createHash('sha256').update(JSON.stringify(bundled)).digest('hex').slice(0, 16));
  const protoDir = join(base, 'proto');
  if (!existsSync(join(protoDir, 'rpc.proto'))) {
    mkdirSync(protoDir, { recursive: true });
    for (const [name, text] of Object.entries(bundled)) {
      const tmp = join(protoDir, `.${name}.${process.pid}`);
      writeFileSync(tmp, text);
      renameSync(tmp, join(protoDir, name));
    }
  }
  const g = globalThis as { __dirname?: string };
  const had = '__dirname' in g;
  g.__dirname = join(base, 'lib');
  try {
    return await import('etcd3');
  } finally {
    if (!had) delete g.__dirname;
  }
}
