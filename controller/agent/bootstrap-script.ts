// The shell that runs on a host before the agent exists there. It is plain POSIX sh (it must
// run wherever sshd gives us a shell), stays tiny, and makes one decision: start the agent if
// the host has everything, otherwise say on one marker line what to upload.
import { quote } from 'shell-quote';
import { NEED_EXIT_CODE, NEED_MARKER } from '../../protocol/agent-protocol.js';

/** berth's directory on the host: system-wide for root, in the home of anyone else. */
// BERTH_HOST_DIR exists for the local transport (tests, a controller converging itself).
const DIR = 'if [ -n "${BERTH_HOST_DIR:-}" ]; then D=$BERTH_HOST_DIR; elif [ "$(id -u)" = 0 ]; then D=/var/lib/berth; else D="$HOME/.berth"; fi';

/** Wraps a script so it runs under sh, and under sudo when the host asks for `become`. */
export function shellCommand(script: string, become: boolean): string {
  const sh = quote(['sh', '-c', script]);
  return become ? `sudo -n -- ${sh}` : sh;
}

export function stage1(agentSha: string, nonce: string): string {
  return [
    'umask 022',
    DIR,
    `A="$D/agent/${agentSha}.mjs"`,
    'N=',
    // A host's own Node is used when it is new enough; otherwise the one berth pushed earlier.
    'v=$(node --version 2>/dev/null) && m=${v#v} && m=${m%%.*} && [ "$m" -ge 18 ] 2>/dev/null && N=$(command -v node)',
    'P=',
    // A pushed runtime lives in a folder named by its sha256, and runs only while it still has
    // that hash: checked before each start, as the agent is. One that changed on disk loses its
    // stamp and is pushed again.
    'if [ -z "$N" ]; then for s in "$D"/node/*/ok; do [ -f "$s" ] || continue; d=${s%/ok}; if [ "$(sha256sum "$d/node" 2>/dev/null | cut -d" " -f1)" = "${d##*/}" ]; then N="$d/node"; P="$s"; break; fi; rm -f "$s"; echo "berth: the Node runtime in $d does not match its sha256; it is pushed again" >&2; done; fi',
    'na=0; [ -f "$A" ] && [ "$(sha256sum "$A" 2>/dev/null | cut -d" " -f1)" = ' + agentSha + ' ] || na=1',
    'nn=0; [ -n "$N" ] || nn=1',
    `if [ $na = 1 ] || [ $nn = 1 ]; then echo "${NEED_MARKER} agent=$na node=$nn arch=$(uname -m) dir=$D"; exit ${NEED_EXIT_CODE}; fi`,
    // A pushed runtime that cannot execute (damaged on disk) loses its stamp, so the next start
    // pushes it again; this costs nothing on the common path, unlike checking it every time.
    'cd /',
    'if [ -z "$P" ]; then exec "$N" "$A" ' + quote([nonce]) + '; fi',
    '"$N" "$A" ' + quote([nonce]) + '; rc=$?',
    'case $rc in 126|127|132|134|139) rm -f "$P"; echo "berth: the Node runtime at $N does not run (exit $rc); it will be pushed again" >&2;; esac',
    'exit $rc',
  ].join('\n');
}

/** Receives a file on stdin, checks its sha256 and moves it into place; never leaves a partial file. */
export function receiveScript(kind: 'agent' | 'node', sha: string): string {
  const target = kind === 'agent' ? `"$D/agent/${sha}.mjs"` : `"$D/node/${sha}/node"`;
  const folder = kind === 'agent' ? '"$D/agent"' : `"$D/node/${sha}"`;
  const decode = kind === 'node' ? 'gzip -dc' : 'cat';
  return [
    'set -e',
    'umask 022',
    DIR,
    `mkdir -p ${folder}`,
    `t=${folder}/.upload.$$`,
    `trap 'rm -f "$t"' EXIT`,
    `${decode} > "$t"`,
    `if [ "$(sha256sum "$t" | cut -d" " -f1)" != ${sha} ]; then echo "berth: the uploaded ${kind} does not match its sha256" >&2; exit 1; fi`,
    'chmod 755 "$t"',
    `mv -f "$t" ${target}`,
    kind === 'node' ? `: > ${folder}/ok` : ':',
  ].join('\n');
}

export interface NeedLine {
  agent: boolean;
  node: boolean;
  arch: string;
  dir: string;
}

export function parseNeed(line: string): NeedLine | undefined {
  if (!line.startsWith(NEED_MARKER + ' ')) return undefined;
  const kv = Object.fromEntries(line.slice(NEED_MARKER.length + 1).split(' ').map((p) => p.split('=') as [string, string]));
  return { agent: kv.agent === '1', node: kv.node === '1', arch: kv.arch ?? '', dir: kv.dir ?? '' };
}
