import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, tempDir } from './helpers/fixtures.js';
import { runSnippet } from './helpers/run-script.js';

// A second user plants links, FIFOs and forged journals in a shared
// directory; the service (root in CI) then scrapes, compacts, writes and
// clears it. Nothing outside the directory may change, and nothing may hang.

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'surfaces', 'cli.js');
/** Generous: every command here finishes in well under a second unless it hangs. */
const RUN_TIMEOUT_MS = 20_000;
const IS_ROOT = process.geteuid?.() === 0;
/** Debian's `nobody` (and `nogroup`). */
const NOBODY = 65534;
const AS_SELF_NOTE = 'not running as root, so the planted files are this user\'s own (setpriv to nobody needs root)';

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function describeRun(what: string, run: Run): string {
  return `${what}: status ${run.status}, signal ${run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  delete env.prometheus_multiproc_dir;
  return { ...env, ...extra };
}

/** Runs the CLI as this process's user; a hang is a SIGKILL after RUN_TIMEOUT_MS, reported as such. */
function cli(args: string[]): Run {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw result.error;
  const run = { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  assert.equal(run.signal, null, describeRun(`prom-multiproc ${args.join(' ')} hung and was killed`, run));
  return run;
}

/** Runs `script` with sh in `cwd` as the hostile user: nobody when we are root, else ourselves. */
function asAttacker(script: string, cwd: string): void {
  const command = IS_ROOT ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-ec', script] : ['sh', '-ec', script];
  const result = spawnSync(command[0], command.slice(1), { cwd, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `attacker script failed: ${result.stderr}\n${script}`);
}

/** Type, content hash, mode, owner and mtime of everything under `dir`, links not followed. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (at: string): void => {
    for (const name of fs.readdirSync(at).sort()) {
      const full = path.join(at, name);
      const stat = fs.lstatSync(full);
      const base = `mode=${stat.mode.toString(8)} uid=${stat.uid} mtime=${stat.mtimeMs}`;
      if (stat.isDirectory()) {
        out.set(path.relative(dir, full), `dir ${base}`);
        walk(full);
      } else if (stat.isFile()) {
        out.set(path.relative(dir, full), `file ${base} sha=${createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`);
      } else {
        out.set(path.relative(dir, full), `other ${base}`);
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * base/ (0755)
 *   victims/ (0700): files the attacker must never get changed, read through us, or deleted
 *   shared/ (1777): the multiprocess directory, where the attacker plants
 */
interface Layout {
  base: string;
  victims: string;
  dir: string;
  cleanup: () => void;
  unchanged: () => void;
}

function layout(): Layout {
  const { dir: base, cleanup } = tempDir('prom-multiproc-hostile-');
  fs.chmodSync(base, 0o755);
  const victims = path.join(base, 'victims');
  fs.mkdirSync(victims, { mode: 0o700 });
  for (const name of ['t1', 't2', 'secret', 'victim-db']) fs.writeFileSync(path.join(victims, name), `${name}: the service's own data\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(victims, 't3.writer'), '{}', { mode: 0o600 });
  fs.mkdirSync(path.join(victims, 't3.lock'));
  const dir = path.join(base, 'shared');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o1777);
  // A good file beside whatever is planted: its samples must come through every scrape.
  fs.copyFileSync(path.join(FIXTURES, 'counters', 'db', 'counter_101.db'), path.join(dir, 'counter_101.db'));
  const before = snapshot(victims);
  return {
    base,
    victims,
    dir,
    cleanup,
    unchanged: () => assert.deepEqual(snapshot(victims), before, 'nothing outside the multiprocess directory changed'),
  };
}

const GOOD_SAMPLE = /^jobs_total 3\.0$/m;

describe('a hostile user of a shared directory', { skip: process.platform !== 'linux' && 'needs Linux (mkfifo, setpriv)' }, () => {
  let at: Layout;
  before(() => {
    if (!IS_ROOT) console.log(`# hostile-directory: ${AS_SELF_NOTE}; the ownership checks are skipped`);
    at = layout();
    // Everything the prober planted: a journal reaching outside, dead markers so that a scraping
    // registry compacts by itself, links to the victims, and FIFOs under every name we open.
    asAttacker(
      `printf '{"id":"x","phase":"pending","install":[{"from":"evil","to":"../victims/t1"}],"remove":["../victims/t2"],"forget":["../victims/t3"]}' > .compaction-journal.json
       printf 'evil' > evil
       for i in 91 92 93 94; do : > $i.writer; done
       ln -s ../victims/secret .scrape-requested
       ln -s ../victims/victim-db counter_victim.db
       ln -s ../victims/t1 counter_2.db
       ln -s ../victims gauge_livesum_3.db
       ln -s ../victims/victim-db histogram_victim.nhdb
       mkfifo counter_1.db gauge_all_x.db histogram_x.db summary_x.db 77.writer counter_fifo.db
       mkfifo histogram_x.nhdb summary_x.nhdb counter_x.exdb summary_fifo.nhdb counter_fifo.exdb
       python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('counter_sock.db')"
       : > "$(printf 'counter_nl\\nprom-multiproc: forged line.db')"`,
      at.dir,
    );
  });
  after(() => at.cleanup());

  test('a scrape skips links and FIFOs at once, names them, and serves the good file', () => {
    const run = cli(['metrics', '--dir', at.dir]);
    assert.equal(run.status, 0, describeRun('metrics', run));
    assert.match(run.stdout, GOOD_SAMPLE);
    // A text scrape reads summary quantile buckets; native buckets and exemplars only a format that carries them.
    for (const name of ['counter_1.db', 'counter_fifo.db', 'gauge_all_x.db', 'histogram_x.db', 'summary_x.db', 'summary_x.nhdb', 'summary_fifo.nhdb']) {
      assert.match(run.stderr, new RegExp(`${name}: skipped: is a FIFO, not a regular file`), `${name} reported`);
    }
    for (const name of ['counter_2.db', 'counter_victim.db', 'gauge_livesum_3.db']) {
      assert.match(run.stderr, new RegExp(`${name}: skipped: is a symbolic link`), `${name} reported`);
    }
    assert.match(run.stderr, /counter_sock\.db: skipped: is a socket/);
    // A newline in a file name is shown escaped: it cannot forge a line of the log.
    assert.match(run.stderr, /counter_nl\\x0aprom-multiproc: forged line\.db: skipped: empty file/);
    assert.ok(!run.stderr.split('\n').some((line) => line.startsWith('prom-multiproc: forged line')), run.stderr);
    assert.match(run.stderr, /\.compaction-journal\.json: .*ignored/);
    assert.match(run.stdout, /^prom_multiproc_skipped_files_total 12\.0$/m);
    at.unchanged();
  });

  test('an OpenMetrics and a protobuf scrape skip the planted native buckets and exemplar files too', () => {
    const run = runSnippet(
      `const registry = new lib.MultiprocessRegistry({ dir: ${JSON.stringify(at.dir)}, compactThreshold: 0 });
       registry.setContentType(lib.Registry.OPENMETRICS_CONTENT_TYPE);
       const text = await registry.metrics();
       if (!/^jobs_total 3\.0$/m.test(text)) throw new Error('good sample missing from OpenMetrics');
       registry.setContentType(lib.Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE);
       const bytes = await registry.metrics();
       console.log('protobuf bytes', bytes.length > 0);`,
    );
    assert.equal(run.status, 0, describeRun('OpenMetrics and protobuf scrapes', run));
    assert.match(run.stdout, /protobuf bytes true/);
    for (const name of ['histogram_x.nhdb', 'counter_x.exdb', 'counter_fifo.exdb']) {
      assert.match(run.stderr, new RegExp(`${name.replace('.', '\\.')}: skipped: is a FIFO, not a regular file`), `${name} reported`);
    }
    assert.match(run.stderr, /histogram_victim\.nhdb: skipped: is a symbolic link/);
    at.unchanged();
  });

  test('compaction sets the forged journal aside instead of acting on it', () => {
    const run = cli(['compact', '--dir', at.dir]);
    assert.equal(run.status, 0, describeRun('compact', run));
    assert.match(run.stderr, /compaction-journal\.json .*set aside as \.compaction-journal\.json\.rejected-/);
    assert.ok(!fs.existsSync(path.join(at.dir, '.compaction-journal.json')) || !fs.readFileSync(path.join(at.dir, '.compaction-journal.json'), 'utf8').includes('victims'));
    assert.ok(fs.existsSync(path.join(at.dir, 'evil')), 'the attacker\'s file was not installed anywhere');
    at.unchanged();
  });

  test('a writer refuses a planted link or FIFO under its own file name and keeps running', () => {
    for (const processId of ['victim', 'fifo']) {
      const run = runSnippet(
        `lib.configure({ dir: ${JSON.stringify(at.dir)}, processId: ${JSON.stringify(processId)} });
         const c = new lib.Counter({ name: 'hostile_probe', help: 'Probe.', enableExemplars: true, registers: [] });
         c.inc({ value: 5, exemplarLabels: { trace_id: 'abc' } });
         const s = new lib.Summary({ name: 'hostile_probe_seconds', help: 'Probe.', registers: [] });
         s.observe(0.25);
         console.log('value', (await c.get()).values[0].value, (await s.get()).values[0].value);`,
      );
      assert.equal(run.status, 0, describeRun(`writer ${processId}`, run));
      assert.match(run.stdout, /value 5 0\.25/);
      assert.match(run.stderr, new RegExp(`counter_${processId}\\.db.*(symbolic link|FIFO).*kept in memory`), run.stderr);
      if (processId === 'fifo') {
        // Its sidecar files' names are FIFOs too: refused, and the process goes on.
        assert.match(run.stderr, /counter_fifo\.exdb.*FIFO/, run.stderr);
        assert.match(run.stderr, /summary_fifo\.nhdb.*FIFO/, run.stderr);
      }
    }
    at.unchanged();
  });

  test('a serving registry with runtime metrics neither follows the planted trigger nor compacts through the journal', () => {
    const run = runSnippet(
      `const registry = new lib.MultiprocessRegistry({ dir: ${JSON.stringify(at.dir)}, compactThreshold: 1 });
       lib.configure({ dir: ${JSON.stringify(at.dir)} });
       lib.collectRuntimeMetrics();
       for (let i = 0; i < 3; i++) {
         const text = await registry.metrics();
         if (!/^jobs_total 3\\.0$/m.test(text)) throw new Error('good sample missing');
         await new Promise((resolve) => setTimeout(resolve, 50));
       }
       console.log('scraped');`,
    );
    assert.equal(run.status, 0, describeRun('serving registry', run));
    assert.match(run.stdout, /scraped/);
    assert.match(run.stderr, /\.scrape-requested/);
    at.unchanged();
  });

  test('the exporter answers /healthz and /metrics at once', () => {
    const run = runSnippet(
      `const exporter = await lib.startExporter({ dir: ${JSON.stringify(at.dir)}, port: 0 });
       for (const p of ['/healthz', '/metrics']) {
         const res = await fetch(exporter.url.replace(/\\/metrics$/, '') + p, { signal: AbortSignal.timeout(5000) });
         console.log(p, res.status, (await res.text()).includes('jobs_total 3.0'));
       }
       await exporter.close();`,
    );
    assert.equal(run.status, 0, describeRun('exporter', run));
    assert.match(run.stdout, /\/healthz 200/);
    assert.match(run.stdout, /\/metrics 200 true/);
    at.unchanged();
  });

  test('clear removes only our regular files and lock directories, and names what it left', () => {
    const run = cli(['clear', '--dir', at.dir, '--force']);
    assert.equal(run.status, 0, describeRun('clear', run));
    const left = fs.readdirSync(at.dir).sort();
    // Links and FIFOs stay (removing someone else's entry is not ours to do), and so does a file not of ours.
    assert.deepEqual(
      left,
      [
        '.scrape-requested',
        '77.writer',
        'counter_1.db',
        'counter_2.db',
        'counter_fifo.db',
        'counter_fifo.exdb',
        'counter_sock.db',
        'counter_victim.db',
        'counter_x.exdb',
        'evil',
        'gauge_all_x.db',
        'gauge_livesum_3.db',
        'histogram_victim.nhdb',
        'histogram_x.db',
        'histogram_x.nhdb',
        'summary_fifo.nhdb',
        'summary_x.db',
        'summary_x.nhdb',
      ],
    );
    assert.match(run.stderr, /left counter_2\.db .*symbolic link/);
    assert.match(run.stderr, /left counter_1\.db .*FIFO/);
    at.unchanged();
  });
});

describe('a journal with well-formed names', () => {
  test('is acted on only when this user or the directory owner wrote it', { skip: !IS_ROOT && AS_SELF_NOTE }, () => {
    const at = layout();
    try {
      // A file of a live Python-style writer (no marker): the forged journal asks to remove it.
      fs.copyFileSync(path.join(FIXTURES, 'counters', 'db', 'counter_102.db'), path.join(at.dir, 'counter_555.db'));
      asAttacker(
        `printf '{"id":"0123456789abcdef","phase":"pending","install":[],"remove":["counter_555.db"],"forget":[]}' > .compaction-journal.json`,
        at.dir,
      );
      const scrape = cli(['metrics', '--dir', at.dir]);
      assert.match(scrape.stderr, /compaction-journal\.json: belongs to user 65534/);
      const run = cli(['compact', '--dir', at.dir]);
      assert.equal(run.status, 0, describeRun('compact', run));
      assert.ok(fs.existsSync(path.join(at.dir, 'counter_555.db')), 'the journal was not acted on');
      assert.match(run.stderr, /belongs to user 65534.*set aside/);
      at.unchanged();
    } finally {
      at.cleanup();
    }
  });

  test('a FIFO as the journal neither hangs a scrape nor compaction', () => {
    const at = layout();
    try {
      asAttacker('mkfifo .compaction-journal.json', at.dir);
      const scrape = cli(['metrics', '--dir', at.dir]);
      assert.equal(scrape.status, 0, describeRun('metrics', scrape));
      assert.match(scrape.stdout, GOOD_SAMPLE);
      const run = cli(['compact', '--dir', at.dir]);
      assert.equal(run.status, 0, describeRun('compact', run));
      assert.match(run.stderr, /FIFO.*set aside/);
      at.unchanged();
    } finally {
      at.cleanup();
    }
  });
});

describe('a file whose header claims 2 GiB in use over a hole', () => {
  test('is skipped after one small read, not read whole into memory', () => {
    const at = layout();
    try {
      // The header alone, then a hole: sparse, it costs the attacker nothing.
      asAttacker(`printf '\\370\\377\\377\\177\\0\\0\\0\\0' > counter_sparse.db && truncate -s 2G counter_sparse.db`, at.dir);
      const header = Buffer.alloc(8);
      const fd = fs.openSync(path.join(at.dir, 'counter_sparse.db'), 'r');
      fs.readSync(fd, header, 0, 8, 0);
      fs.closeSync(fd);
      assert.equal(header.readInt32LE(0), 0x7ffffff8);
      const run = runSnippet(
        `const registry = new lib.MultiprocessRegistry({ dir: ${JSON.stringify(at.dir)}, logger: { warn: (m) => console.log(m) } });
         const text = await registry.metrics();
         console.log(text.includes('jobs_total 3.0') ? 'good sample served' : 'good sample missing');
         console.log('max rss MiB', Math.round(process.resourceUsage().maxRSS / 1024));`,
      );
      assert.equal(run.status, 0, describeRun('scrape', run));
      assert.match(run.stdout, /counter_sparse\.db: skipped: bad key length 0 \(at byte 8\)/);
      assert.match(run.stdout, /good sample served/);
      const rss = Number(/max rss MiB (\d+)/.exec(run.stdout)![1]);
      assert.ok(rss < 1024, `the scrape peaked at ${rss} MiB: it read the claimed 2 GiB`);
      at.unchanged();
    } finally {
      at.cleanup();
    }
  });
});

describe('the directory itself', () => {
  test('writable by everyone without the sticky bit: a warning names path, owner and mode, once', () => {
    const { dir, cleanup } = tempDir();
    try {
      fs.chmodSync(dir, 0o777);
      const run = runSnippet(
        `const registry = new lib.MultiprocessRegistry({ dir: ${JSON.stringify(dir)} });
         await registry.metrics();
         await registry.metrics();
         lib.configure({ dir: ${JSON.stringify(dir)} });
         new lib.Counter({ name: 'exposed_probe', help: 'Probe.' }).inc();`,
      );
      assert.equal(run.status, 0, describeRun('snippet', run));
      const warnings = run.stderr.split('\n').filter((line) => line.includes('other users can plant files'));
      assert.equal(warnings.length, 1, run.stderr);
      assert.match(warnings[0], new RegExp(`${dir} \\(owner uid ${process.geteuid?.()}, mode 0777\\) is writable by every user and has no sticky bit`));
    } finally {
      cleanup();
    }
  });

  test('owned by the service user with mode 0700: no warning', () => {
    const { dir, cleanup } = tempDir();
    try {
      fs.chmodSync(dir, 0o700);
      const run = runSnippet(`await new lib.MultiprocessRegistry({ dir: ${JSON.stringify(dir)} }).metrics();`);
      assert.equal(run.status, 0, describeRun('snippet', run));
      assert.doesNotMatch(run.stderr, /plant files/);
    } finally {
      cleanup();
    }
  });

  test('clear creates a missing directory no more open than 0755', () => {
    const { dir, cleanup } = tempDir();
    try {
      const created = path.join(dir, 'new');
      const run = cli(['clear', '--dir', created]);
      assert.equal(run.status, 0, describeRun('clear', run));
      assert.equal(fs.statSync(created).mode & 0o002, 0, 'not writable by others');
      assert.equal(fs.statSync(created).mode & 0o020, 0, 'not writable by the group');
    } finally {
      cleanup();
    }
  });
});
