// A play's `hosts:` pattern should name hosts and groups the inventory has. Only checkable when
// the inventory is known before connecting (inline, or a file); providers decide at run time.
import type { DocPath } from './path.js';
import type { Finding } from './problems.js';
import { asList, asRecord, isTemplate } from './shape.js';
import { didYouMean } from './suggest.js';

const implicit = new Set(['all', 'ungrouped', 'localhost']);

/** The plain names a pattern uses: `web:&prod:!h3` -> web, prod, h3; wildcards and regexes are skipped. */
export function patternNames(pattern: string): string[] {
  return pattern
    .split(/[,:]/)
    .map((t) => t.replace(/^[!&]/, ''))
    .filter((t) => t !== '' && !/[*?[\]~{}]/.test(t) && !implicit.has(t));
}

export function checkHostPatterns(playbook: unknown, inventory: unknown, inventoryName: string): Finding[] {
  const inv = asRecord(inventory);
  const known = new Set([...Object.keys(asRecord(inv.hosts)), ...Object.keys(asRecord(inv.groups))]);
  const found: Finding[] = [];
  asList(asRecord(playbook).plays).forEach((p, i) => {
    const hosts = asRecord(p).hosts;
    if (typeof hosts !== 'string' || isTemplate(hosts)) return;
    for (const name of patternNames(hosts)) {
      if (known.has(name)) continue;
      const path: DocPath = ['plays', i, 'hosts'];
      found.push({
        code: 'playbook.unknown-hosts',
        message: `hosts: ${JSON.stringify(name)} is neither a host nor a group of ${inventoryName}`,
        path,
        hint: didYouMean(name, known) ?? (known.size ? `hosts and groups: ${[...known].slice(0, 12).join(', ')}` : 'the inventory is empty'),
      });
    }
  });
  return found;
}
