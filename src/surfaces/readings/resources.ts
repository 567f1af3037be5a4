/**
 * What keeps this thread's event loop busy: resources by type
 * (process.getActiveResourcesInfo), and the libuv handles and requests
 * behind them by the class name of their JavaScript object (the internal
 * process._getActiveHandles and _getActiveRequests). Each reading is
 * undefined where Node.js does not offer it.
 */

interface InternalProcess {
  _getActiveHandles?: () => unknown[];
  _getActiveRequests?: () => unknown[];
}

const internal = process as unknown as InternalProcess;

export const hasActiveResources = typeof process.getActiveResourcesInfo === 'function';
export const hasActiveHandles = typeof internal._getActiveHandles === 'function';
export const hasActiveRequests = typeof internal._getActiveRequests === 'function';

/** How many of each are there, in the order they first come. */
export function countEach(names: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/** The class name of each object that has one. */
function* classNames(list: readonly unknown[]): Iterable<string> {
  for (const item of list) {
    const name = (item as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    if (typeof name === 'string') yield name;
  }
}

export function activeResources(): string[] | undefined {
  return hasActiveResources ? process.getActiveResourcesInfo() : undefined;
}

/** Active handles: how many, and how many of each class. */
export function activeHandles(): { total: number; byType: Map<string, number> } | undefined {
  const handles = internal._getActiveHandles?.();
  return handles && { total: handles.length, byType: countEach(classNames(handles)) };
}

/** Active requests: how many, and how many of each class. */
export function activeRequests(): { total: number; byType: Map<string, number> } | undefined {
  const requests = internal._getActiveRequests?.();
  return requests && { total: requests.length, byType: countEach(classNames(requests)) };
}
