// Debian's own Node on a lab host. Lab hosts start without Node, so berth pushes its runtime to
// them; many real hosts have the distribution's `nodejs` (Node 18 on bookworm) and berth runs its
// agent on that instead. A lab host asked for it gets the package from the lab apt repository at
// start, through temporary apt lists: the host keeps no package source and no lists it did not
// have, so the package module's tests see the same host either way.
import { err, ExitCode, ok, type Result } from '../../controller/errors.js';
import { docker, type Engine } from './docker.js';
import { APT_LINE } from './names.js';
import { lastLine } from './run.js';

/** What Node a lab host starts with: none (berth pushes its own) or Debian's `nodejs` package. */
export type HostNode = 'none' | 'debian';

/** One setting for every host, or one per host name (hosts not named get none). */
export type LabNode = HostNode | Record<string, HostNode>;

export const hostNode = (node: LabNode | undefined, host: string): HostNode =>
  typeof node === 'string' ? node : (node?.[host] ?? 'none');

const INSTALL = [
  'set -eu',
  // Already there (a host kept from an earlier `lab up`): nothing to do.
  `if [ "$(dpkg-query -W -f='\${db:Status-Abbrev}' nodejs 2>/dev/null)" = "ii " ]; then exit 0; fi`,
  'd=$(mktemp -d)',
  `trap 'rm -rf "$d"' EXIT`,
  'mkdir -p "$d/lists/partial" "$d/parts"',
  'printf "%s\\n" "$1" > "$d/sources.list"',
  'set -- -o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/parts" -o "Dir::State::Lists=$d/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -q',
  'apt-get "$@" update',
  'DEBIAN_FRONTEND=noninteractive apt-get "$@" install -y --no-install-recommends nodejs',
].join('\n');

/** Installs Debian's nodejs on a running lab host (idempotent). */
export async function installDebianNode(e: Engine, container: string): Promise<Result<void>> {
  const r = await docker(e, ['exec', container, 'sh', '-c', INSTALL, 'sh', APT_LINE], { timeoutMs: 10 * 60_000 });
  if (r.code === 0) return ok(undefined);
  return err({
    code: 'lab.host-node',
    message: `cannot install Debian's nodejs on ${container}: ${lastLine(r)}`,
    where: container,
    hint: `the lab apt repository must carry nodejs (APT_REPO_PACKAGES in providers/lab/recipe.ts); see \`docker exec ${container} ls /srv/berth-apt\``,
    exit: ExitCode.failed,
  });
}
