// `berth inventory`, the implementation: the inventory comes from -i FILE or from a playbook's
// `inventory:` by the same code path as apply, so what this prints is what apply uses. Values
// are shown as they are, except private keys: a key is shown by its path, never its content.
import { stringify } from 'yaml';
import { BerthFailure, badInput, ExitCode } from '../../controller/errors.js';
import { resolveInventory, type ResolvedHost, type ResolvedInventory } from '../../controller/inventory/resolve.js';
import { inventorySource } from '../../controller/inventory/source.js';
import { loadForRun, loadInventoryForRun } from '../../controller/run/load-for-run.js';

export interface InventoryFlags {
  inventory?: string;
  host?: string;
  json?: boolean;
}

export async function showInventory(playbook: string | undefined, flags: InventoryFlags): Promise<number> {
  const inventory = loadInventory(playbook, flags.inventory);
  let hosts = [...inventory.byName.values()];
  if (flags.host !== undefined) {
    const h = inventory.byName.get(flags.host);
    if (!h) throw new BerthFailure([badInput('inventory.unknown-host', `"${flags.host}" is not a host of ${inventory.source}`, '--host', `hosts: ${[...inventory.byName.keys()].slice(0, 20).join(', ') || '(none)'}`)]);
    hosts = [h];
  }
  const groups = Object.fromEntries([...inventory.groups.entries()].filter(([, hs]) => flags.host === undefined || hs.includes(flags.host!)));
  if (flags.json) {
    const out = { source: inventory.source, hosts: hosts.map((h) => ({ name: h.name, connection: connection(h), groups: h.groups, vars: redact(h.vars) })), groups };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return ExitCode.ok;
  }
  process.stdout.write((flags.host !== undefined ? hostText(hosts[0]!) : listText(inventory)).join('\n') + '\n');
  return ExitCode.ok;
}

function loadInventory(playbook: string | undefined, file: string | undefined): ResolvedInventory {
  if (!playbook && !file) {
    throw new BerthFailure([badInput('inventory.none', 'which inventory? give an inventory file with -i FILE or a playbook', undefined, 'for example `berth inventory -i inventory.yml` or `berth inventory playbooks/demo.yml`')]);
  }
  let ref: unknown;
  let where = '-i';
  let playbookPath = process.cwd() + '/-';
  let playbookName: string | undefined;
  if (playbook && !file) {
    const loaded = loadForRun(playbook);
    if (!loaded.ok) throw new BerthFailure(loaded.error);
    ref = loaded.value.doc.inventory;
    where = loaded.value.where(['inventory']);
    playbookPath = loaded.value.path;
    playbookName = loaded.value.doc.name;
  }
  const inv = inventorySource(ref as Parameters<typeof inventorySource>[0], { playbookPath, playbookName, override: file, where, loadFile: loadInventoryForRun });
  if (!inv.ok) throw new BerthFailure(inv.error);
  return resolveInventory(inv.value.doc, inv.value.source);
}

/** Connection settings as a run uses them; `key` is a path (what is in the file is never read here). */
function connection(h: ResolvedHost): Record<string, unknown> {
  const c = h.connection;
  const jump = h.jumpHost ?? c.jump;
  return redact(Object.fromEntries(Object.entries({ address: c.address, port: c.port, user: c.user, key: c.key, known_hosts: c.known_hosts, become: c.become, jump }).filter(([, v]) => v !== undefined))) as Record<string, unknown>;
}

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
export const KEY_HIDDEN = '(private key: not shown)';

/** Private key material pasted into an inventory (a var, an inline key) is never printed. */
export function redact<T>(v: T): T {
  if (typeof v === 'string') return (PRIVATE_KEY.test(v) ? KEY_HIDDEN : v) as T;
  if (Array.isArray(v)) return v.map(redact) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)])) as T;
  return v;
}

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd());
}

function listText(inv: ResolvedInventory): string[] {
  const hosts = [...inv.byName.values()];
  const named = [...inv.groups.keys()].filter((g) => g !== 'all');
  const out = [`inventory ${inv.source}: ${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${named.length} group${named.length === 1 ? '' : 's'}`, ''];
  out.push(...table(['HOST', 'ADDRESS', 'USER', 'GROUPS'], hosts.map((h) => [h.name, address(h), h.connection.user ?? '-', h.groups.filter((g) => g !== 'all').join(', ') || '-'])));
  const groups = [...inv.groups.entries()].sort(([a], [b]) => (a === 'all' ? -1 : b === 'all' ? 1 : 0));
  out.push('', ...table(['GROUP', 'HOSTS'], groups.map(([g, hs]) => [g, hs.join(' ') || '(empty)'])));
  // Hosts with the same vars are listed together: a fleet's vars stay a page, not a book.
  const byVars = new Map<string, string[]>();
  for (const h of hosts) {
    const key = JSON.stringify(redact(h.vars));
    byVars.set(key, [...(byVars.get(key) ?? []), h.name]);
  }
  out.push('', 'VARS (resolved: all < groups < host)');
  for (const [key, names] of byVars) {
    const vars = JSON.parse(key) as Record<string, unknown>;
    out.push(`${names.join(', ')}:`);
    out.push(...(Object.keys(vars).length ? indent(stringify(vars)) : ['  (none)']));
  }
  return out;
}

function hostText(h: ResolvedHost): string[] {
  const fields: Array<[string, string]> = [...Object.entries(connection(h)).map(([k, v]): [string, string] => [k, String(v)]), ['groups', h.groups.join(', ')]];
  const w = Math.max(...fields.map(([k]) => k.length));
  const out = [`host ${h.name}`, ...fields.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`), 'vars (resolved: all < groups < host):'];
  out.push(...(Object.keys(h.vars).length ? indent(stringify(redact(h.vars))) : ['  (none)']));
  return out;
}

const address = (h: ResolvedHost) => `${h.connection.address ?? h.name}${h.connection.port ? `:${h.connection.port}` : ''}`;
const indent = (yaml: string) => yaml.replace(/\n$/, '').split('\n').map((l) => `  ${l}`);
