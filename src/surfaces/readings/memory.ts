import * as fs from 'node:fs';

/** process.memoryUsage(), or undefined where it throws (it opens /proc/self/stat: no descriptor left, no /proc). */
export function memoryUsage(): NodeJS.MemoryUsage | undefined {
  try {
    return process.memoryUsage();
  } catch {
    return undefined;
  }
}

/** The memory sizes of /proc/self/status (Linux), in bytes; a field the kernel does not give is absent. */
export interface StatusMemory {
  /** VmRSS: resident set size. */
  resident?: number;
  /** VmSize: virtual memory size. */
  virtual?: number;
  /** VmData: size of the data segment (the process heap). */
  data?: number;
}

const STATUS_FIELDS: Record<string, keyof StatusMemory> = { VmRSS: 'resident', VmSize: 'virtual', VmData: 'data' };

/**
 * The sizes in /proc/self/status, or undefined where it cannot be read. A
 * virtual file read from kernel memory: it never blocks.
 */
export function statusMemory(): StatusMemory | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const sizes: StatusMemory = {};
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s*(\d+) kB$/.exec(line);
    const field = match && STATUS_FIELDS[match[1]];
    if (field) sizes[field] = Number(match[2]) * 1024;
  }
  return sizes;
}
