import { CpuSeconds } from '../readings/cpu.js';
import type { Measurement, MetricMaker } from './measurement.js';

/** CPU seconds of the whole process (main thread only), summed over all processes including those that exited. */
export function cpuSeconds(make: MetricMaker): Measurement {
  const user = make.counter('process_cpu_user_seconds_total', 'User CPU time spent, in seconds, summed over all processes including those that exited.');
  const system = make.counter('process_cpu_system_seconds_total', 'System CPU time spent, in seconds, summed over all processes including those that exited.');
  const total = make.counter('process_cpu_seconds_total', 'User and system CPU time spent, in seconds, summed over all processes including those that exited.');
  /** Kept across a stop and restart: the counters never count a second twice. */
  const spent = new CpuSeconds();
  return {
    refresh(): void {
      const { user: userSeconds, system: systemSeconds } = spent.sinceLast();
      user.inc(userSeconds);
      system.inc(systemSeconds);
      total.inc(userSeconds + systemSeconds);
    },
  };
}
