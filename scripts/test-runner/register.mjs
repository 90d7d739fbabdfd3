// Preloaded into every test file's process by scripts/test.mjs (`--import`): test files that
// import uvu get uvu-recorded.mjs instead, which records each test's outcome for the runner.
import { register } from 'node:module';

register('./resolve-uvu.mjs', import.meta.url);
