// Builds the two programs berth ships: the CLI (split into lazily loaded chunks, npm packages
// left external) and the agent (one self-contained file that runs on any host with Node >= 18).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
rmSync(`${root}dist`, { recursive: true, force: true });

await Promise.all([
  build({
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    outdir: 'dist',
    outbase: '.',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  }),
  build({
    absWorkingDir: root,
    entryPoints: ['agent/main.ts'],
    outfile: 'dist/agent.mjs',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node18',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // The agent runs on hosts that have none of berth's node_modules: bundle everything it uses.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  }),
]);
