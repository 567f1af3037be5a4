/** Where the library reports problems it survives (a full disk, a corrupt file). */
export interface Logger {
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  warn(message: string): void {
    console.warn(`prom-multiproc: ${message}`);
  },
};

// C0 controls, DEL and C1 controls: none belongs in a one-line message.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `text` with control characters written as `\xNN`. Messages name files
 * found in the directory, whose names anyone who can write there chooses: a
 * newline in one must not forge a line of the log.
 */
export function printable(text: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `logger`, with every message made printable: for code that reports names from the directory. */
export function printableLogger(logger: Logger): Logger {
  return { warn: (message) => logger.warn(printable(message)) };
}
