import { Counter } from '../../metrics/counter.js';
import { processStorage } from '../../storage/process-storage.js';
import { CpuSeconds } from '../readings/cpu.js';
import { perSeries, reportsProcessFigures, settingsOf, type DefaultMetricModule } from './settings.js';

const USER = 'process_cpu_user_seconds_total';
const SYSTEM = 'process_cpu_system_seconds_total';
const TOTAL = 'process_cpu_seconds_total';

/** The CPU seconds of one series set, and the latest writer of them (what the exit handler calls). */
interface CpuState {
  spent: CpuSeconds;
  write?: () => void;
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
  const state = perSeries('cpu', settings, (): CpuState => ({ spent: new CpuSeconds() }));
  const write = (): void => {
    const { user, system } = state.spent.sinceLast();
    userSeconds.inc(labels, user);
    systemSeconds.inc(labels, system);
    totalSeconds.inc(labels, user + system);
  };
  if (processStorage().dir) {
    if (!state.write) process.on('exit', () => state.write?.());
    state.write = write;
  }
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
};
processCpuTotal.metricNames = [USER, SYSTEM, TOTAL];
