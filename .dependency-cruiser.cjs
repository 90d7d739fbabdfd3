// The rules of the house as code (issue 19): which folder may import which. `npm run lint:imports`
// checks them and .ci/run fails on a violation. Type-only imports count too: a type is a
// dependency of the design even when the compiler erases it.
//
// controller/ and cli/ run on the operator's machine; agent/ runs on hosts. They meet only in
// protocol/ (the wire contract) and modules/ (each module's schema in modules/catalog.ts and
// modules/params/, its host-side plan beside it).

/** Cycles known when the rule came in, each through a type-only import; fix one, drop its files. */
const knownTypeCycles = [
  // lab-inventory.ts needs LabState's type; lab-state.ts renders the inventory.
  '^providers/lab/lab-(inventory|state)\\.ts$',
  // ApplyFlags is declared in the command that loads run-apply.ts (and run-input.ts) lazily.
  '^cli/(run-apply|run-input|commands/apply)\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle at run time (no type-only import in it): never.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-circular-types',
      comment: 'An import cycle through a type-only import: move the shared type into a file of its own. Known ones are listed in knownTypeCycles.',
      severity: 'error',
      from: { pathNot: knownTypeCycles },
      to: { circular: true },
    },
    {
      name: 'controller-not-agent',
      comment: 'The controller and the CLI never load host-side code: they read modules/catalog.ts, not the modules or agent/.',
      severity: 'error',
      from: { path: '^(controller|cli)/' },
      to: { path: '^agent/' },
    },
    {
      name: 'controller-closure-not-agent',
      comment: 'Nor through another folder (modules/, providers/, lang/): the whole import closure of controller/ and cli/ holds no file of agent/.',
      severity: 'error',
      from: { path: '^(controller|cli)/' },
      to: { path: '^agent/', reachable: true },
    },
    {
      name: 'agent-not-controller',
      comment: 'The agent runs on hosts and knows the controller only through protocol/.',
      severity: 'error',
      from: { path: '^agent/' },
      to: { path: '^(controller|cli)/' },
    },
    {
      name: 'modules-not-agent',
      comment: 'modules/ is what the controller and the agent share; the agent builds on it, not the other way round.',
      severity: 'error',
      from: { path: '^modules/', pathNot: '^modules/image\\.ts$' },
      to: { path: '^agent/' },
    },
    {
      // Allow-list, until the image code of agent/docker/ moves under modules/ (issue 19's host
      // library): the image module loads its work from there on first use, on the host only.
      name: 'modules-not-agent-image',
      comment: 'modules/image.ts may load agent/docker/ensure-image.ts and retention.ts, nothing else of agent/.',
      severity: 'error',
      from: { path: '^modules/image\\.ts$' },
      to: { path: '^agent/', pathNot: '^agent/docker/(ensure-image|retention)\\.ts$' },
    },
    {
      name: 'protocol-alone',
      comment: 'protocol/ is the wire contract: it imports only protocol/, npm packages and Node itself.',
      severity: 'error',
      from: { path: '^protocol/' },
      to: { pathNot: ['^protocol/', 'node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
