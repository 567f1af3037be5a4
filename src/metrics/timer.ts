/**
 * prom-client's startTimer(): the returned function records the seconds
 * since now under the start labels merged with the end labels. Time comes
 * from process.hrtime(), as in prom-client, so test suites that fake it
 * (jest's modern timers) time our metrics as they time prom-client's.
 */

export function startClock(): [number, number] {
  return process.hrtime();
}

export function elapsedSeconds(start: [number, number]): number {
  const [seconds, nanoseconds] = process.hrtime(start);
  return seconds + nanoseconds / 1e9;
}

export function labelledTimer<L extends object>(
  startLabels: L | undefined,
  record: (labels: L | undefined, seconds: number) => void,
): (endLabels?: L) => number {
  const start = process.hrtime();
  return (endLabels?: L) => {
    const seconds = elapsedSeconds(start);
    record(startLabels && endLabels ? { ...startLabels, ...endLabels } : (endLabels ?? startLabels), seconds);
    return seconds;
  };
}
