// Builds the two programs berth ships: the CLI (split into lazily loaded chunks, npm packages
// left external) and the agent (one self-contained file that runs on any host with Node >= 18).
// Outputs are written in place, each file by rename: a berth process running while a build
// happens never reads a missing or half-written file.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** dockerode's `require('./session')` resolves to a stand-in (scripts/stubs/no-buildkit-session.cjs says why). */
const noBuildkitSession = {
  name: 'no-buildkit-session',
  setup(b) {
    b.onResolve({ filter: /^\.\/session$/ }, (args) => (/[\\/]dockerode[\\/]lib$/.test(args.resolveDir) ? { path: join(root, 'scripts/stubs/no-buildkit-session.cjs') } : undefined));
  },
};

const common = { absWorkingDir: root, bundle: true, format: 'esm', platform: 'node', logLevel: 'warning', write: false };
const results = await Promise.all([
  build({
    ...common,
    entryPoints: ['cli/main.ts'],
    outdir: 'dist',
    outbase: '.',
    splitting: true,
    target: 'node20',
    sourcemap: 'linked',
    // Pure-JS dependencies are bundled into the chunks that use them: Node then reads a few
    // files instead of resolving hundreds in node_modules, which halves the start-up of a run.
    // Native, huge or optional packages stay external and load only where a command needs them.
    external: ['ssh2', 'cpu-features', 'dockerode', 'ink', 'react', 'react/*', '@pulumi/*', 'etcd3', 'esbuild', 'typescript', 'tsx'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  }),
  build({
    ...common,
    entryPoints: ['agent/main.ts'],
    outfile: 'dist/agent.mjs',
    target: 'node18',
    minify: true,
    legalComments: 'none',
    alias: { ssh2: './scripts/stubs/no-ssh.cjs' },
    plugins: [noBuildkitSession],
    // The agent runs on hosts that have none of berth's node_modules: bundle everything it uses.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  }),
]);

for (const file of results.flatMap((r) => r.outputFiles)) {
  const path = file.path.startsWith('/') ? file.path : join(root, file.path);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, path);
}

// Chunks of earlier builds are removed once no running berth can still be loading them.
const fresh = new Set(results.flatMap((r) => r.outputFiles.map((f) => (f.path.startsWith('/') ? f.path : join(root, f.path)))));
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
for (const file of walk(join(root, 'dist'))) {
  if (!fresh.has(file) && Date.now() - statSync(file).mtimeMs > 10 * 60 * 1000) rmSync(file, { force: true });
}
