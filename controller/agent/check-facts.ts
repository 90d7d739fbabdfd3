// A host's facts are checked against their schema (protocol/host-facts.ts) as its hello arrives:
// a host that claims an os id of "/../../etc/shadow" or a megabyte of hostname is reported as
// failed, and nothing it said reaches a template. Compiled once per process, on first use.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { HostFactsSchema, type HostFacts } from '../../protocol/host-facts.js';
import type { WireError } from '../../protocol/agent-protocol.js';

let compiled: TypeCheck<typeof HostFactsSchema> | undefined;

export function checkFacts(facts: unknown): { ok: true; facts: HostFacts } | { ok: false; error: WireError } {
  compiled ??= TypeCompiler.Compile(HostFactsSchema);
  if (compiled.Check(facts)) return { ok: true, facts };
  const problems = [...compiled.Errors(facts)].slice(0, 3).map((e) => `${e.path.slice(1).replace(/\//g, '.') || 'facts'}: ${e.message} (got ${shown(e.value)})`);
  return {
    ok: false,
    error: {
      code: 'agent.bad-facts',
      message: `the host's facts are not valid, so none of them is used: ${problems.join('; ')}`,
      detail: 'facts come from the host (os-release, uname, the Docker engine); a value no real host reports means a broken or compromised host',
    },
  };
}

/** A value from the host, short and with no control character left raw (it ends up on a terminal). */
function shown(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v);
  const cut = s.length > 60 ? `${s.slice(0, 57)}...` : s;
  return cut.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
