// The images a Dockerfile starts from: FROM lines and COPY --from=<image>, with the global ARGs
// substituted (build args override their defaults), stage names and `scratch` left out. A
// build's tag must change when one of these changes, even though no file of the context did.

/** Logical lines: continuations joined, comments and blank lines dropped. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (cur === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    out.push((cur + line).trim());
    cur = '';
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function substitute(word: string, vars: Record<string, string>): string {
  return word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced: string, fallback: string | undefined, bare: string) => {
    const v = vars[braced ?? bare];
    return v !== undefined && v !== '' ? v : (fallback ?? '');
  });
}

export function dockerfileBases(text: string, buildArgs: Record<string, string>): string[] {
  const globals: Record<string, string> = {};
  const stages = new Set<string>();
  const bases: string[] = [];
  let seenFrom = false;
  const add = (ref: string) => {
    const r = ref.trim();
    if (r === '' || r.toLowerCase() === 'scratch' || stages.has(r.toLowerCase()) || /^\d+$/.test(r)) return;
    if (!bases.includes(r)) bases.push(r);
  };
  for (const line of logicalLines(text)) {
    const [instr, ...rest] = line.split(/\s+/);
    const op = instr.toUpperCase();
    if (op === 'ARG' && !seenFrom) {
      for (const decl of rest) {
        const eq = decl.indexOf('=');
        const name = eq < 0 ? decl : decl.slice(0, eq);
        const def = eq < 0 ? undefined : decl.slice(eq + 1).replace(/^"(.*)"$/, '$1');
        const v = buildArgs[name] ?? def;
        if (v !== undefined) globals[name] = v;
      }
    } else if (op === 'FROM') {
      seenFrom = true;
      const words = rest.filter((w) => !w.startsWith('--'));
      add(substitute(words[0] ?? '', globals));
      if (words.length >= 3 && words[1].toUpperCase() === 'AS') stages.add(words[2].toLowerCase());
    } else if (op === 'COPY' || op === 'ADD') {
      for (const w of rest) {
        const m = /^--from=(.+)$/.exec(w);
        if (m) add(substitute(m[1], globals));
      }
    }
  }
  return bases;
}
