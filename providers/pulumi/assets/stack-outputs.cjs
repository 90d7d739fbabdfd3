// Prints a Pulumi stack's outputs as one JSON object ({name: value}), read through the Automation
// API. berth runs this in a child process (providers/pulumi/stack-outputs.ts) because inventories
// resolve synchronously; the Automation API itself drives the pulumi CLI, which must be installed.
// Usage: node stack-outputs.cjs WORK_DIR [STACK]
'use strict';
const { LocalWorkspace } = require('@pulumi/pulumi/automation');

async function main() {
  const [workDir, stackName] = process.argv.slice(2);
  let name = stackName;
  if (!name) {
    // Like `pulumi stack output`: the stack selected in this project.
    const current = await (await LocalWorkspace.create({ workDir })).stack();
    if (!current) throw new Error(`no stack is selected in ${workDir}: name one with \`stack:\` or run \`pulumi stack select\``);
    name = current.name;
  }
  const stack = await LocalWorkspace.selectStack({ stackName: name, workDir });
  const outputs = await stack.outputs();
  const plain = {};
  for (const [k, v] of Object.entries(outputs)) plain[k] = v.value;
  process.stdout.write(JSON.stringify(plain));
}

main().catch((e) => {
  process.stderr.write(String((e && e.message) || e).split('\n').filter(Boolean).slice(0, 3).join(' ') + '\n');
  process.exit(1);
});
