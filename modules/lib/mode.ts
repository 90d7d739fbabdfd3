// File modes as the playbook writes them: an octal string ("0644", "755") or a symbolic one
// ("u=rw,g=r,o=r", "a+x", "g-w", "u+X"). Symbolic modes depend on the current mode and on
// whether the path is a directory, so a parsed mode is a function of both.
export type ModeFn = (current: number, isDir: boolean) => number;

export function parseMode(spec: string): ModeFn | undefined {
  const s = spec.trim();
  if (/^[0-7]{3,4}$/.test(s)) {
    const m = parseInt(s, 8);
    return () => m;
  }
  const clauses = s.split(',');
  const parsed: Array<{ who: number; op: string; perms: string }> = [];
  for (const c of clauses) {
    const m = /^([ugoa]*)([=+-])([rwxXst]*)$/.exec(c);
    if (!m) return undefined;
    const who = m[1] === '' || m[1].includes('a') ? 0o7777 : whoMask(m[1]);
    parsed.push({ who, op: m[2], perms: m[3] });
  }
  return (current, isDir) => {
    let mode = current & 0o7777;
    for (const { who, op, perms } of parsed) {
      const anyExec = isDir || (mode & 0o111) !== 0;
      let bits = 0;
      for (const p of perms) {
        if (p === 'r') bits |= 0o444;
        if (p === 'w') bits |= 0o222;
        if (p === 'x' || (p === 'X' && anyExec)) bits |= 0o111;
        if (p === 's') bits |= 0o6000;
        if (p === 't') bits |= 0o1000;
      }
      const mask = (who & 0o777) | (who & 0o700 ? 0o4000 : 0) | (who & 0o070 ? 0o2000 : 0) | (who & 0o007 ? 0o1000 : 0);
      bits &= mask;
      if (op === '=') mode = (mode & ~mask) | bits;
      else if (op === '+') mode |= bits;
      else mode &= ~bits;
    }
    return mode;
  };
}

function whoMask(who: string): number {
  let m = 0;
  if (who.includes('u')) m |= 0o700;
  if (who.includes('g')) m |= 0o070;
  if (who.includes('o')) m |= 0o007;
  return m;
}

export const formatMode = (m: number): string => '0' + (m & 0o7777).toString(8).padStart(3, '0');
