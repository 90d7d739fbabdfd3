#!/usr/bin/env node
// Thin launcher: the real CLI is the esbuild bundle in dist/ (built by `npm install`/`npm run build`),
// so that start-up parses only what a command uses.
import { existsSync } from 'node:fs';
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('berth: the CLI is not built yet (dist/ is missing)\n  hint: run `npm install` or `npm run build` in the berth checkout\n');
  process.exit(2);
}
await import(main.href);
