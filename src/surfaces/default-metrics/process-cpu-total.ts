import { Counter } from '../../metrics/counter.js';
import { processStorage } from '../../storage/process-storage.js';
import { CpuSeconds } from '../readings/cpu.js';
import { LatestRegistered, perSeries, reportsProcessFigures, settingsOf, type DefaultMetricModule } from './settings.js';

const USER = 'process_cpu_user_seconds_total';
const SYSTEM = 'process_cpu_system_seconds_total';
const TOTAL = 'process_cpu_seconds_total';

/** The CPU seconds of one series set, and the counters made for it (the exit handler writes through the latest). */
interface CpuState {
  spent: CpuSeconds;
  made: LatestRegistered<Counter>;
  writers: WeakMap<Counter, () => void>;
}

/**
 * Counters: summed over every process of the directory, those that exited
 * included, so rate() stays right across restarts. They count the process's
 * CPU time from its start (prom-client counts from its call), and in
 * multiprocess mode a process that exits normally writes its last seconds.
 */
export const processCpuTotal: DefaultMetricModule = (registry, config) => {
  if (!reportsProcessFigures()) return;
  const settings = settingsOf(registry, config);
  const { registers, prefix, labels, labelNames } = settings;
  const state = perSeries('cpu', settings, (): CpuState => {
    const made = new LatestRegistered<Counter>();
    const writers = new WeakMap<Counter, () => void>();
    // In multiprocess mode a process that exits normally leaves its last seconds in the file.
    if (processStorage().dir) {
      process.on('exit', () => {
        const latest = made.current();
        try {
          if (latest) writers.get(latest)?.();
        } catch {
          // Exiting: the seconds since the last scrape are lost, nothing else.
        }
      });
    }
    return { spent: new CpuSeconds(), made, writers };
  });
  const write = (): void => {
    const { user, system } = state.spent.sinceLast();
    userSeconds.inc(labels, user);
    systemSeconds.inc(labels, system);
    totalSeconds.inc(labels, user + system);
  };
  const userSeconds = new Counter({
    name: prefix + USER,
    help: 'Total user CPU time spent in seconds.',
    registers,
    labelNames,
    // This one metric's collect() sets all three.
    collect: write,
  });
  const systemSeconds = new Counter({ name: prefix + SYSTEM, help: 'Total system CPU time spent in seconds.', registers, labelNames });
  const totalSeconds = new Counter({ name: prefix + TOTAL, help: 'Total user and system CPU time spent in seconds.', registers, labelNames });
  state.made.add(settings, userSeconds);
  state.writers.set(userSeconds, write);
};
processCpuTotal.metricNames = [USER, SYSTEM, TOTAL];
