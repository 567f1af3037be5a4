import type { CounterChild } from '../../metrics/counter.js';
import type { Measurement, MetricMaker } from './measurement.js';

/** CPU seconds of the whole process (main thread only), summed over all processes including those that exited. */
export function cpuSeconds(make: MetricMaker): Measurement {
  const user: CounterChild = make.counter('process_cpu_user_seconds_total', 'User CPU time spent, in seconds, summed over all processes including those that exited.');
  const system = make.counter('process_cpu_system_seconds_total', 'System CPU time spent, in seconds, summed over all processes including those that exited.');
  const total = make.counter('process_cpu_seconds_total', 'User and system CPU time spent, in seconds, summed over all processes including those that exited.');
  /** process.cpuUsage() as last added to the counters, kept across a stop and restart. */
  let reported: NodeJS.CpuUsage = { user: 0, system: 0 };
  return {
    refresh(): void {
      const cpu = process.cpuUsage();
      // Counters only ever add what was spent since the last refresh: a file
      // left by an earlier process with the same pid keeps its share.
      const userSeconds = Math.max(0, cpu.user - reported.user) / 1e6;
      const systemSeconds = Math.max(0, cpu.system - reported.system) / 1e6;
      reported = cpu;
      user.inc(userSeconds);
      system.inc(systemSeconds);
      total.inc(userSeconds + systemSeconds);
    },
  };
}
