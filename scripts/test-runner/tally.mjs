// One test file's counts, from the records uvu-recorded.mjs wrote and how its process ended.
// Every registered test is counted once: passed, skipped, or failed (failed, never finished, or
// never run). A file whose process went wrong in a way no test shows (non-zero exit, no uvu
// summary, a suite run that never finished, a hook error, no tests at all) counts one failure.

/**
 * @param {{ batches: { suite: string, queued: boolean, finished: boolean, tests: { name: string, kind: string, status: string, error?: string }[] }[], hookErrors: { suite: string, hook: string, error: string }[] } | undefined} result
 * @param {{ code: number | null, signal: string | null, out: string }} ended
 */
export function tally(result, ended) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const reasons = [];
  const only = [];
  if (!result) {
    reasons.push(`no test results (${how(ended)}): the file did not load uvu, or its process died`);
    return { ...counts, failed: 1, reasons, only };
  }
  let tests = 0;
  for (const b of result.batches) {
    for (const t of b.tests) {
      tests += 1;
      const name = b.suite ? `${b.suite} › ${t.name}` : t.name;
      if (t.kind === 'only') only.push(name);
      if (t.status === 'pass') counts.passed += 1;
      else if (t.status === 'skip') counts.skipped += 1;
      else {
        counts.failed += 1;
        const why = t.status === 'fail' ? t.error
          : t.status === 'running' ? 'started and never finished'
          : b.queued ? 'did not run'
          : 'never run: its suite\'s .run() was not called after it';
        reasons.push(`✘ ${name}: ${why}`);
      }
    }
  }
  for (const h of result.hookErrors) reasons.push(`✘ ${h.hook} hook${h.suite ? ` of suite "${h.suite}"` : ''} threw: ${h.error}`);
  const queued = result.batches.filter((b) => b.queued);
  const wrong = [
    ended.code !== 0 || ended.signal ? how(ended) : '',
    queued.length && !/Total:\s+\d+/.test(ended.out.replace(/\x1b\[[0-9;]*m/g, '')) ? 'no uvu summary' : '',
    queued.some((b) => !b.finished) ? 'a suite run did not finish' : '',
    result.hookErrors.length ? 'a hook threw' : '',
    tests === 0 ? 'no tests' : '',
  ].filter(Boolean);
  // Failed tests explain a non-zero exit (and hook errors are listed above): only a file that
  // went wrong with no test to show for it needs a failure of its own.
  if (wrong.length && counts.failed === 0) {
    reasons.push(`✘ ${wrong.join('; ')}`);
    counts.failed = 1;
  }
  return { ...counts, reasons, only };
}

const how = ({ code, signal }) => (signal ? `killed by ${signal}` : `exit ${code}`);
