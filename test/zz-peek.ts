import * as fs from 'node:fs'; import * as os from 'node:os'; import * as path from 'node:path';
import { MultiprocessRegistry } from '/work/main/src/index.js';
import { python016LayoutFile, pythonKey } from '/work/main/test/helpers/db-files.js';
(async () => {
  for (const n of [1, 2, 3]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peek-'));
    const keys = [pythonKey('jobs', 'jobs_total', {}, 'Jobs done.'), pythonKey('http_requests', 'http_requests_total', { code: '200', method: 'GET' }, 'HTTP requests served.'), pythonKey('http_requests', 'http_requests_total', { code: '500', method: 'POST' }, 'HTTP requests served.')];
    fs.writeFileSync(path.join(dir, 'counter_2.db'), python016LayoutFile(keys.slice(0, n).map((key, i) => ({ key, value: i + 7 }))));
    await new MultiprocessRegistry({ dir, logger: { warn: (m) => console.log(n, m) } }).metrics();
    fs.rmSync(dir, { recursive: true });
  }
})();
