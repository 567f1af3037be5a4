// 'v8', the name prom-client requires: a test that mocks that module (jest.mock('v8')) mocks it for us
// too, as for the library we stand in for; read at each call, so a module patched later is seen.
import * as v8 from 'v8';

/** When this process started, in whole Unix seconds (read once, when this module loads). */
export const PROCESS_START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** The Node.js version running: `v20.11.1` and its three numbers. */
export const NODE_VERSION = (() => {
  const [major, minor, patch] = process.version.slice(1).split('.').map(Number);
  return { version: process.version, major, minor, patch };
})();

/** One V8 heap space: its short name (`new` for new_space) and sizes in bytes. */
export interface HeapSpace {
  space: string;
  size: number;
  used: number;
  available: number;
}

/** The V8 heap spaces of this isolate, named without `_space`, as prom-client names them. */
export function heapSpaces(): HeapSpace[] {
  return v8.getHeapSpaceStatistics().map((space) => ({
    space: space.space_name.substring(0, Math.max(0, space.space_name.indexOf('_space'))),
    size: space.space_size,
    used: space.space_used_size,
    available: space.space_available_size,
  }));
}
