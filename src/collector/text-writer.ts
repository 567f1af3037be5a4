import { formatJavaScriptNumber, formatPrometheusFloat, isPlainInteger } from '../format/float.js';
import type { StoredExemplar } from '../format/exemplar-record.js';
import { renderExemplarLabels } from './exposition.js';

/** How sample values are written: as Python's client writes them (`5.0`), or as prom-client does (`5`). */
export type NumberStyle = 'python' | 'javascript';

const NEWLINE = 0x0a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

/**
 * Builds an exposition in one reused byte buffer: a scrape writes tens of
 * thousands of lines, and concatenating strings left several megabytes of
 * garbage per scrape, enough to make V8 grow its young generation (memory
 * that is not given back). Here a scrape allocates its result string and,
 * per line, only the text of a value that is not a plain integer.
 */
export class TextWriter {
  private buf = Buffer.allocUnsafeSlow(64 * 1024);
  private length = 0;
  numbers: NumberStyle = 'python';

  text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.reserve(s.length * 3);
    this.length += this.buf.write(s, this.length);
  }

  get size(): number {
    return this.length;
  }

  /** Drops what was written after the first `size` bytes. */
  truncate(size: number): void {
    if (size < this.length) this.length = size;
  }

  /** Appends bytes [start, end) of what `from` holds. */
  copy(from: TextWriter, start: number, end: number): void {
    this.reserve(end - start);
    const source = from.buf;
    const target = this.buf;
    let at = this.length;
    // Line prefixes are short: a loop beats a native call per line.
    for (let i = start; i < end; i++) target[at++] = source[i];
    this.length = at;
  }

  /** A sample value as formatPrometheusFloat renders it, then a newline. */
  valueLine(x: number): void {
    this.value(x);
    this.byte(NEWLINE);
  }

  /** A sample value as formatPrometheusFloat renders it (or JavaScript, per the writer's number style). */
  value(x: number): void {
    const javascript = this.numbers === 'javascript';
    if (!isPlainInteger(x)) {
      this.text(javascript ? formatJavaScriptNumber(x) : formatPrometheusFloat(x));
      return;
    }
    // Counts are integers: their digits are written directly, without a string.
    this.reserve(24);
    const buf = this.buf;
    let at = this.length;
    if (x < 0) {
      buf[at++] = MINUS;
      x = -x;
    }
    let digits = 1;
    for (let rest = x; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    at += digits;
    for (let i = at - 1; i >= at - digits; i--) {
      buf[i] = ZERO + (x % 10);
      x = Math.floor(x / 10);
    }
    if (!javascript) {
      buf[at++] = DOT;
      buf[at++] = ZERO;
    }
    this.length = at;
  }

  /** The rest of an OpenMetrics sample line with an exemplar: ` # {labels} value timestamp`, then a newline. */
  exemplarEnd(exemplar: StoredExemplar): void {
    this.text(` # ${renderExemplarLabels(exemplar.labels)} `);
    this.value(exemplar.value);
    this.text(` ${exemplar.timestamp}\n`);
  }

  /** Everything written since the last take(), as a string; the writer starts over. */
  take(): string {
    const text = this.buf.toString('utf8', 0, this.length);
    this.length = 0;
    // One unusually large scrape should not pin its buffer for good.
    if (this.buf.length > 4 * 1024 * 1024 && text.length < this.buf.length / 4) this.buf = Buffer.allocUnsafeSlow(64 * 1024);
    return text;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** Makes room for `more` bytes at once (one allocation instead of doublings, each touching fresh pages). */
  reserve(more: number): void {
    if (this.length + more <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + more) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }
}
