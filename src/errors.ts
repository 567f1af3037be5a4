import { inspect } from 'node:util';

/**
 * Every error this library throws is a PromMultiprocError, so callers can
 * tell ours from their own with one instanceof check.
 */
export class PromMultiprocError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A metric, label or value that the caller got wrong (names, label counts, negative increments). */
export class ValidationError extends PromMultiprocError {}

const SHOW_OPTIONS = { depth: 0, customInspect: false, showProxy: true, getters: false, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 80 };

/**
 * A value the caller passed, as an error message shows it (strings in JSON
 * quotes, so that control characters and lone surrogates show). It never throws:
 * a template literal throws on a Symbol and JSON.stringify on a BigInt, which
 * would replace the error we mean to raise by a bare TypeError.
 */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}...` : JSON.stringify(value);
  try {
    return inspect(value, SHOW_OPTIONS);
  } catch {
    return typeof value;
  }
}

/** Configuration that cannot work: a missing directory, a bad processId, configure() too late. */
export class ConfigError extends PromMultiprocError {
  constructor(
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A file operation of the writer failed (create, grow, map). `path` names the file. */
export class StorageError extends PromMultiprocError {
  constructor(
    message: string,
    readonly path: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bytes that do not follow the file format. `offset` is where the reader gave up. */
export class FileFormatError extends PromMultiprocError {
  constructor(
    readonly reason: string,
    readonly offset: number,
    readonly path?: string,
  ) {
    super(`${path ? `${path}: ` : ''}${reason} (at byte ${offset})`);
  }

  withPath(path: string): FileFormatError {
    return new FileFormatError(this.reason, this.offset, path);
  }
}

/**
 * A name in the multiprocess directory that the library refuses to touch:
 * a symbolic link, FIFO, socket or device, a file with several hard links,
 * or another user's file where one of ours belongs. `path` names it.
 */
export class UnsafeFileError extends PromMultiprocError {
  constructor(
    readonly path: string,
    /** What is wrong, after the path: `is a FIFO, not a regular file: not opened`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path} ${reason}`, options);
  }
}
