// `berth validate FILE...`: checks playbooks and inventories without connecting anywhere. Which
// one a file is comes from its content; a playbook's inventory file is checked along with it.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ExitCode } from '../../controller/errors.js';
import { action } from '../run-action.js';

import type { PlaybookCompose } from '../../controller/compose/playbook.js';
import type { LoadError, LoadedDocument, LoadedPlaybook } from '../../controller/load/index.js';

type Loader = typeof import('../../controller/load/index.js');

export function registerValidate(program: Command): void {
  program
    .command('validate <files...>')
    .description('check playbooks and inventories without connecting anywhere')
    .addHelpText(
      'after',
      '\nA file with `plays:` is a playbook; one with `hosts:` or `groups:` is an inventory; a playbook\'s\ninventory file is checked too. Every mistake is printed as FILE:LINE:COL; exit code 2 if there is any.\n',
    )
    .action(action(async (files: string[]) => validateFiles(files)));
}

export async function validateFiles(files: string[]): Promise<number> {
  // Loaded here, not at the top: other commands should not pay for ajv and the schemas.
  const load: Loader = await import('../../controller/load/index.js');
  const { loadPlaybookCompose } = await import('../../controller/compose/playbook.js');
  const composeOf = (pb: LoadedPlaybook): PlaybookCompose | undefined => {
    const r = loadPlaybookCompose(pb.source, pb.data, pb.dir);
    return r.ok ? r.value : undefined;
  };
  const done = new Set<string>();
  let failed = false;
  const report = (errors: LoadError[]) => {
    for (const e of errors) process.stderr.write(`${load.formatProblem(e)}\n`);
    failed = true;
  };

  for (const file of files) {
    if (done.has(resolve(file))) continue;
    done.add(resolve(file));
    const r = load.loadDocument(file);
    const lines: string[] = [];
    let own = r.ok ? [] : r.error;

    // The inventory file a playbook names is part of the playbook: check it, even if the playbook has mistakes.
    const data = r.ok ? r.value.data : load.peekData(file);
    const isPlaybook = r.ok ? r.value.kind === 'playbook' : load.detectKind(data) === 'playbook';
    const ref = isPlaybook ? load.referencedInventoryFile(file, data) : undefined;
    let invErrors: LoadError[] = [];
    // A missing inventory file is the playbook's error already; one that exists is checked in
    // full, even when it does not parse or is too large to read.
    if (ref && !done.has(resolve(ref.file)) && isFile(ref.file)) {
      done.add(resolve(ref.file));
      const inv = load.loadInventory(ref.file);
      if (!inv.ok) invErrors = inv.error;
      else {
        if (r.ok && r.value.kind === 'playbook') own = load.checkPlaybookAgainstInventory(r.value, inv.value);
        lines.push(`${ref.file}: ok (${summary(inv.value)})`);
      }
    }
    if (own.length) report(own);
    else if (r.ok) {
      // The Compose files were checked with the playbook; what they warn about is said, and their services counted.
      const compose = r.value.kind === 'playbook' ? composeOf(r.value) : undefined;
      for (const w of compose?.warnings ?? []) process.stderr.write(`${load.formatProblem({ ...w, message: `warning: ${w.message}` })}\n`);
      lines.unshift(`${file}: ok (${summary(r.value, compose)})`);
    }
    if (invErrors.length) report(invErrors);
    for (const line of lines) process.stdout.write(`${line}\n`);
  }
  return failed ? ExitCode.badInput : ExitCode.ok;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function summary(doc: LoadedDocument, compose?: PlaybookCompose): string {
  if (doc.kind === 'inventory') {
    return `inventory: ${count(Object.keys(doc.data.hosts ?? {}).length, 'host')}, ${count(Object.keys(doc.data.groups ?? {}).length, 'group')}`;
  }
  const plays = doc.data.plays;
  const tasks = plays.reduce((n, p) => n + (p.tasks?.length ?? 0), 0);
  const imported = [...(compose?.plays.values() ?? [])].reduce((n, c) => n + Object.keys(c.services).length, 0);
  const services = plays.reduce((n, p) => n + Object.keys(p.services ?? {}).length, imported);
  return `${count(plays.length, 'play')}, ${count(tasks, 'task')}, ${count(services, 'service')}`;
}
