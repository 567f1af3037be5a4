// Whether code allocates, told by the garbage collector: a loop that
// allocated a few bytes per call over millions of calls would trigger
// several collections while it runs.
import { PerformanceObserver } from 'node:perf_hooks';

/** Runs `work` and returns the start times of the garbage collections that began while it ran. */
export async function collectionsDuring(work: () => void): Promise<number[]> {
  const collections: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  work();
  const end = performance.now();
  // Entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return collections.filter((t) => t >= start && t <= end);
}
