import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TextWriter } from '../src/collector/text-writer.js';
import { formatPrometheusFloat } from '../src/format/float.js';

describe('TextWriter (the exposition buffer)', () => {
  it('writes every kind of value exactly as formatPrometheusFloat', () => {
    const values = [
      0, -0, 1, -1, 7, 10, 99, 100, 12345, 999999, 1e6, 1234567, -999999, -1e15 + 1, -1e16, 2 ** 53,
      0.5, -0.25, 1 / 3, 1e-5, 123.456, 1e21, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity,
    ];
    const out = new TextWriter();
    for (const value of values) out.valueLine(value);
    assert.deepEqual(out.take().split('\n').slice(0, -1), values.map(formatPrometheusFloat));
  });

  it('keeps multi-byte text intact, copies byte ranges, and starts over after take()', () => {
    const prefixes = new TextWriter();
    prefixes.text('a{x="é"} ');
    const middle = prefixes.size;
    prefixes.text('b{y="😀\\n"} ');
    const out = new TextWriter();
    out.copy(prefixes, middle, prefixes.size);
    out.valueLine(3);
    out.copy(prefixes, 0, middle);
    out.valueLine(0.5);
    assert.equal(out.take(), 'b{y="😀\\n"} 3.0\na{x="é"} 0.5\n');
    assert.equal(out.take(), '');
  });

  it('grows past its initial buffer without losing bytes', () => {
    const out = new TextWriter();
    const line = `${'x'.repeat(1000)} `;
    for (let i = 0; i < 500; i++) {
      out.text(line);
      out.valueLine(i);
    }
    const text = out.take();
    assert.equal(text.length, 500 * 1001 + [...Array(500).keys()].reduce((n, i) => n + String(i).length + 3, 0));
    assert.ok(text.endsWith(`${line}499.0\n`));
  });
});
