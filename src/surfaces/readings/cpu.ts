/**
 * CPU time of the whole process (process.cpuUsage(): every thread), handed
 * out as what was spent since the previous reading, so that a counter only
 * ever adds: a file left by an earlier process with the same id keeps its
 * share, and the counter never goes down.
 */
export class CpuSeconds {
  /** process.cpuUsage() as of the previous reading, in microseconds. */
  private last: NodeJS.CpuUsage;

  /** `from`: where the first reading counts from; default the start of the process. */
  constructor(from: NodeJS.CpuUsage = { user: 0, system: 0 }) {
    this.last = from;
  }

  /** User and system seconds spent since the previous reading (never negative). */
  sinceLast(): { user: number; system: number } {
    const now = process.cpuUsage();
    const user = Math.max(0, now.user - this.last.user) / 1e6;
    const system = Math.max(0, now.system - this.last.system) / 1e6;
    this.last = now;
    return { user, system };
  }
}
