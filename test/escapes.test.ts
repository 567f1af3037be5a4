import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { MultiprocessRegistry, OPENMETRICS_CONTENT_TYPE } from '../src/index.js';
import { currentLayoutFile } from './helpers/db-files.js';
import { parseExposition, type Format } from './helpers/exposition-parser.js';
import { tempDir } from './helpers/fixtures.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { assertOpenMetricsParses, assertPromtoolParses, runPromtool } from './helpers/promtool.js';

// Both formats escape only backslash, newline and (label values; OpenMetrics
// help too) the double quote: any other character, \r and NUL included, is
// written as it is, and an escape such as \r or \t is a parse error (the
// last test shows promtool's). Prometheus 2.42 scrapes such values intact.
const CONTROL = [...Array.from({ length: 0x20 }, (_, c) => c), 0x7f, 0x85, 0x2028, 0x2029, 0xfeff].map((c) => String.fromCharCode(c));
const VALUES = [...CONTROL.map((c) => `a${c}b`), 'quote " and backslash \\', 'astral \u{1f680}', '\r\n'];
const HELP = `Help with ${CONTROL.join('')}, "quotes" and \\ backslash.`;

describe('help text and label values with every control character', { skip: skipUnlessInstalled('promtool') }, () => {
  for (const format of ['prometheus', 'openmetrics'] as const satisfies readonly Format[]) {
    test(`${format}: exported as they are, read back exactly, and promtool's parser accepts them`, async (t) => {
      const { dir, cleanup } = tempDir('prom-multiproc-escapes-');
      t.after(cleanup);
      const entries = VALUES.map((value, i) => ({ key: JSON.stringify(['odd', 'odd_total', { i: String(i), v: value }, HELP]), value: i + 1 }));
      fs.writeFileSync(path.join(dir, 'counter_1.db'), currentLayoutFile(entries));
      const warnings: string[] = [];
      const registry = new MultiprocessRegistry({ dir, logger: { warn: (m) => warnings.push(m) } });
      if (format === 'openmetrics') registry.setContentType(OPENMETRICS_CONTENT_TYPE);
      const text = await registry.metrics();
      const family = parseExposition(text, format).find((f) => f.name.startsWith('odd'))!;
      assert.equal(family.help, HELP);
      assert.deepEqual(new Map(family.samples.map((s) => [Number(s.labels.i), s.labels.v])), new Map(VALUES.map((value, i) => [i, value])));
      if (format === 'prometheus') assertPromtoolParses(text);
      else assertOpenMetricsParses(text, dir);
      assert.deepEqual(warnings, []);
    });
  }

  test('promtool check metrics refuses the escapes the format does not have', () => {
    for (const [what, text] of [
      ['\\r in a label value', 'x_total{a="1\\r2"} 1\n'],
      ['\\t in a label value', 'x_total{a="1\\t2"} 1\n'],
      ['\\r in help', '# HELP x_total a\\rb\n# TYPE x_total counter\nx_total 1\n'],
      ['\\" in help (an escape of OpenMetrics only)', '# HELP x_total a\\"b\n# TYPE x_total counter\nx_total 1\n'],
    ]) {
      const check = runPromtool(['check', 'metrics'], text);
      assert.equal(check.status, 1, `${what}: ${check.stderr}`);
      assert.match(check.stderr, /invalid escape sequence/, what);
    }
  });
});
