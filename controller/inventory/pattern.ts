// Host patterns, as Ansible operators write them: `all`, `web`, `h*`, `web:db` or `web,db`
// (union), `web:&prod` (intersection), `web:!h3` (exclusion). Names are groups or hosts.
export interface PatternScope {
  /** Every host, in inventory order. */
  hosts: string[];
  /** Group name -> its hosts (children already expanded). */
  groups: Map<string, string[]>;
}

export type PatternResult = { ok: true; hosts: string[] } | { ok: false; unknown: string[] };

export function matchPattern(pattern: string, scope: PatternScope): PatternResult {
  const terms = pattern
    .split(/[:,]/)
    .map((t) => t.trim())
    .filter(Boolean);
  let selected = new Set<string>();
  const unknown: string[] = [];
  // Unions first, then intersections, then exclusions: the order Ansible documents.
  const plain = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'));
  const and = terms.filter((t) => t.startsWith('&')).map((t) => t.slice(1));
  const not = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  const resolve = (term: string): string[] => {
    if (term === 'all' || term === '*') return scope.hosts;
    const group = scope.groups.get(term);
    if (group) return group;
    if (term.includes('*') || term.includes('?')) {
      const re = new RegExp('^' + term.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
      return [...scope.hosts.filter((h) => re.test(h)), ...[...scope.groups.entries()].filter(([g]) => re.test(g)).flatMap(([, hs]) => hs)];
    }
    if (scope.hosts.includes(term)) return [term];
    unknown.push(term);
    return [];
  };
  for (const t of plain.length ? plain : ['all']) for (const h of resolve(t)) selected.add(h);
  for (const t of and) {
    const keep = new Set(resolve(t));
    selected = new Set([...selected].filter((h) => keep.has(h)));
  }
  for (const t of not) for (const h of resolve(t)) selected.delete(h);
  if (unknown.length) return { ok: false, unknown };
  // Keep inventory order so output and batches are stable.
  return { ok: true, hosts: scope.hosts.filter((h) => selected.has(h)) };
}
