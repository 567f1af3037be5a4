import { performance } from 'node:perf_hooks';

export function startClock(): number {
  return performance.now();
}

export function elapsedSeconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/**
 * prom-client's startTimer(): the returned function records the seconds
 * since now under the start labels merged with the end labels.
 */
export function labelledTimer<L extends object>(
  startLabels: L | undefined,
  record: (labels: L | undefined, seconds: number) => void,
): (endLabels?: L) => number {
  const start = performance.now();
  return (endLabels?: L) => {
    const seconds = (performance.now() - start) / 1000;
    record(startLabels && endLabels ? { ...startLabels, ...endLabels } : (endLabels ?? startLabels), seconds);
    return seconds;
  };
}
