// The view's clock: re-renders every `tickMs` so spinners turn and elapsed times count while
// nothing else happens. A tick of 0 renders once (tests, renderToString).
import { useEffect, useState } from 'react';

export function useNow(clock: () => number, tickMs: number): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!tickMs) return;
    const t = setInterval(() => setTick((n) => n + 1), tickMs);
    return () => clearInterval(t);
  }, [tickMs]);
  return clock();
}
