// Module resolve hook: wherever uvu's ES entry is imported from (a test file, a helper, a fixture
// by absolute path), hand out uvu-recorded.mjs instead; only that wrapper gets the real uvu.
const wrapper = new URL('./uvu-recorded.mjs', import.meta.url).href;
const uvuEntry = /\/node_modules\/uvu\/dist\/index\.mjs$/;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (context.parentURL !== wrapper && uvuEntry.test(resolved.url)) return { url: wrapper, format: 'module', shortCircuit: true };
  return resolved;
}
