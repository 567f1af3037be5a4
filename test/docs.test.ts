// Every fenced code block of README.md, CONTRIBUTING.md and docs/*.md is
// checked: the comment just before it says how.
//
//   <!-- check: excerpt FILE -->   every non-blank line of the block is a line of FILE, in order
//                                  (FILE is itself run or checked by a test)
//   <!-- check: run [prints TEXT] -->
//                                  a js block run in a fresh node process against the built
//                                  library, with a fresh PROMETHEUS_MULTIPROC_DIR; it must exit 0
//                                  within 30 s (and print TEXT)
//   <!-- check: server NAME -->    a js server saved as NAME and started with PORT set; the next
//   <!-- check: requests NAME -->  block's commands run against it, their output is the block's
//                                  `# ` lines
//   <!-- check: session -->        `$ ` lines are commands (prom-multiproc is the built CLI), run
//                                  in the repository; the lines after each are its exact output
//   <!-- check: cli-synopsis -->   each `prom-multiproc CMD --opt` line: CMD --help names every option
//   <!-- check: npm-scripts -->    each `npm ...` line names a script of package.json
//   <!-- check: hexdump FILE -->   the block is `xxd FILE`'s first lines
//   <!-- check: exposed-warning --> the warning `prom-multiproc clear` logs for a directory of mode
//                                  0777, with its path and owner as the block shows them
//
// Relative links of these pages must lead to files of the repository. The
// deployment files of examples/ the pages show are checked at the end: YAML
// parsed, Prometheus configuration and recording rules with promtool.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { freePort, ROOT, startProcess } from './helpers/examples-processes.js';
import { tempDir } from './helpers/fixtures.js';
import { skipUnlessInstalled } from './helpers/programs.js';
import { runPromtool } from './helpers/promtool.js';

// js-yaml (a development dependency) parses the deployment examples.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { loadAll(text: string): unknown[]; load(text: string): unknown };

interface Block {
  page: string;
  line: number;
  lang: string;
  check: string;
  text: string;
}

const PAGES = ['README.md', 'CONTRIBUTING.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function blocksOf(page: string): Block[] {
  const lines = fs.readFileSync(path.join(ROOT, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && lines[end].trim() !== fence) end++;
    assert.ok(end < lines.length, `${page}:${i + 1}: unclosed code block`);
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? /^\s*<!-- check: (.+?) -->\s*$/.exec(lines[before]) : null;
    const text = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n');
    blocks.push({ page, line: i + 1, lang, check: marker ? marker[1] : '', text });
    i = end;
  }
  return blocks;
}

const BLOCKS = PAGES.flatMap(blocksOf);
const where = (b: Block): string => `${b.page}:${b.line} (${b.check || 'no marker'})`;
const kind = (b: Block): string => b.check.split(' ')[0];
const arg = (b: Block): string => b.check.slice(kind(b).length).trim();

const CLI = path.join(ROOT, 'dist', 'surfaces', 'cli.js');

/** A folder whose `prom-multiproc` runs the built CLI, for PATH. */
function cliOnPath(): { dir: string; cleanup: () => void } {
  const bin = tempDir('prom-multiproc-docs-bin-');
  const wrapper = path.join(bin.dir, 'prom-multiproc');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`, { mode: 0o755 });
  return bin;
}

/** A folder inside the repository, so that `require('prom-multiproc')` finds the package itself. */
function scratchInRepo(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(ROOT, '.docs-run-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function envWithout(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  delete env.prometheus_multiproc_dir;
  return { ...env, ...extra };
}

function xxd(file: string, lines: number): string {
  const bytes = fs.readFileSync(file);
  const out: string[] = [];
  for (let row = 0; row < lines && row * 16 < bytes.length; row++) {
    const chunk = bytes.subarray(row * 16, row * 16 + 16);
    let hex = '';
    for (let i = 0; i < 16; i += 2) {
      hex += i < chunk.length ? chunk.subarray(i, i + 2).toString('hex').padEnd(4, ' ') : '    ';
      hex += ' ';
    }
    const ascii = [...chunk].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
    out.push(`${(row * 16).toString(16).padStart(8, '0')}: ${hex} ${ascii}`);
  }
  return out.join('\n');
}

describe('every code block of the documentation is checked', () => {
  test('each block has a known check marker', () => {
    const known = new Set(['excerpt', 'run', 'server', 'requests', 'session', 'cli-synopsis', 'npm-scripts', 'hexdump', 'exposed-warning']);
    assert.ok(BLOCKS.length > 10, 'the pages have code blocks');
    for (const b of BLOCKS) assert.ok(known.has(kind(b)), `${where(b)}: a block needs <!-- check: ... --> with a known kind before it`);
    for (const b of BLOCKS.filter((b) => kind(b) === 'server')) {
      const next = BLOCKS[BLOCKS.indexOf(b) + 1];
      assert.ok(next && next.check === `requests ${arg(b)}`, `${where(b)}: a server block is followed by its requests block`);
    }
  });

  test('relative links lead to files of the repository, and nothing points outside it', () => {
    for (const page of PAGES) {
      const text = fs.readFileSync(path.join(ROOT, page), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target) || target.startsWith('#')) continue;
        const file = path.resolve(path.dirname(path.join(ROOT, page)), target.split('#')[0]);
        assert.ok(file.startsWith(ROOT + path.sep), `${page}: link ${target} leaves the repository`);
        assert.ok(fs.existsSync(file), `${page}: link ${target} leads nowhere`);
      }
    }
  });

  for (const b of BLOCKS.filter((b) => kind(b) === 'excerpt')) {
    test(`${where(b)}: an excerpt of ${arg(b)}`, () => {
      const fileLines = fs.readFileSync(path.join(ROOT, arg(b)), 'utf8').split('\n').map((l) => l.trim());
      let at = 0;
      for (const line of b.text.split('\n').map((l) => l.trim()).filter(Boolean)) {
        const found = fileLines.indexOf(line, at);
        assert.ok(found >= 0, `${where(b)}: line ${JSON.stringify(line)} is not in ${arg(b)} (after its line ${at})`);
        at = found + 1;
      }
    });
  }

  for (const b of BLOCKS.filter((b) => kind(b) === 'hexdump')) {
    test(`${where(b)}: the bytes of ${arg(b)}`, () => {
      const lines = b.text.split('\n');
      assert.equal(b.text, xxd(path.join(ROOT, arg(b)), lines.length));
    });
  }

  for (const b of BLOCKS.filter((b) => kind(b) === 'exposed-warning')) {
    test(`${where(b)}: the warning for a directory everyone can write`, () => {
      const shown = /directory (\S+) \(owner uid (\d+),/.exec(b.text);
      assert.ok(shown, `${where(b)}: the block names a directory and its owner`);
      const work = tempDir('prom-multiproc-docs-exposed-');
      try {
        fs.chmodSync(work.dir, 0o777);
        const run = spawnSync(process.execPath, [CLI, 'clear', '--dir', work.dir], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        const warning = run.stderr.split('\n')[0].replace(work.dir, shown[1]).replace(/owner uid \d+/, `owner uid ${shown[2]}`);
        assert.equal(b.text.trim(), warning);
      } finally {
        work.cleanup();
      }
    });
  }

  for (const b of BLOCKS.filter((b) => kind(b) === 'npm-scripts')) {
    test(`${where(b)}: names scripts of package.json`, () => {
      const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
      const commands = b.text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
      assert.ok(commands.length > 0);
      for (const command of commands) {
        const words = command.split(/\s+/);
        assert.equal(words[0], 'npm', `${where(b)}: ${command}`);
        if (words[1] === 'install' || words[1] === 'i') continue;
        const script = words[1] === 'run' ? words[2] : words[1];
        assert.ok(script in scripts, `${where(b)}: npm ${words.slice(1).join(' ')}: no script ${script} in package.json`);
      }
    });
  }

  for (const b of BLOCKS.filter((b) => kind(b) === 'cli-synopsis')) {
    test(`${where(b)}: every command and option exists`, () => {
      const commands = b.text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
      for (const command of commands) {
        const words = command.split(/\s+/);
        assert.equal(words[0], 'prom-multiproc', `${where(b)}: ${command}`);
        const sub = words[1]?.startsWith('-') ? [] : [words[1]];
        const help = spawnSync(process.execPath, [CLI, ...sub, '--help'], { encoding: 'utf8' });
        assert.equal(help.status, 0, `${command}: ${help.stderr}`);
        if (sub.length > 0) assert.match(help.stdout, new RegExp(`^\\s*(Usage: prom-multiproc )?${sub[0]}\\b`, 'm'), `${command}: the help names the command`);
        for (const option of command.match(/--[a-z-]+/g) ?? []) {
          if (option === '--help') continue;
          assert.ok(help.stdout.includes(option), `${command}: ${option} is not in its --help:\n${help.stdout}`);
        }
      }
    });
  }

  for (const b of BLOCKS.filter((b) => kind(b) === 'session')) {
    test(`${where(b)}: the commands print what the block shows`, () => {
      const bin = cliOnPath();
      try {
        const steps: Array<{ command: string; output: string[] }> = [];
        for (const line of b.text.split('\n')) {
          if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: [] });
          else steps.at(-1)!.output.push(line);
        }
        assert.ok(steps.length > 0, `${where(b)}: a session has $ lines`);
        for (const { command, output } of steps) {
          const run = spawnSync('bash', ['-c', command], { cwd: ROOT, encoding: 'utf8', env: envWithout({ PATH: `${bin.dir}${path.delimiter}${process.env.PATH}` }) });
          assert.equal(run.stdout.trimEnd(), output.join('\n').trimEnd(), `${where(b)}: $ ${command}\n${run.stderr}`);
        }
      } finally {
        bin.cleanup();
      }
    });
  }

  for (const b of BLOCKS.filter((b) => kind(b) === 'run')) {
    test(`${where(b)}: runs and exits 0`, () => {
      const scratch = scratchInRepo();
      const metrics = tempDir('prom-multiproc-docs-dir-');
      try {
        const file = path.join(scratch.dir, 'snippet.js');
        fs.writeFileSync(file, b.text);
        const run = spawnSync(process.execPath, [file], {
          cwd: scratch.dir,
          encoding: 'utf8',
          timeout: 30_000,
          killSignal: 'SIGKILL',
          env: envWithout({ PROMETHEUS_MULTIPROC_DIR: metrics.dir }),
        });
        assert.equal(run.status, 0, `${where(b)} exited ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
        const prints = /^prints (.+)$/.exec(arg(b));
        if (prints) assert.ok(run.stdout.includes(prints[1]), `${where(b)}: expected ${JSON.stringify(prints[1])} in:\n${run.stdout}`);
      } finally {
        scratch.cleanup();
        metrics.cleanup();
      }
    });
  }

  for (const b of BLOCKS.filter((b) => kind(b) === 'server')) {
    const requests = BLOCKS[BLOCKS.indexOf(b) + 1];
    test(`${where(b)}: runs as a server and answers as ${requests.page}:${requests.line} shows`, async () => {
      const scratch = scratchInRepo();
      const metrics = tempDir('prom-multiproc-docs-dir-');
      const file = path.join(scratch.dir, arg(b));
      fs.writeFileSync(file, b.text);
      const port = await freePort();
      const server = startProcess(process.execPath, [file], {
        cwd: scratch.dir,
        group: true,
        env: envWithout({ PROMETHEUS_MULTIPROC_DIR: metrics.dir, PORT: String(port) }),
      });
      try {
        await server.waitFor(/listening/);
        const lines = requests.text.split('\n');
        const expected = lines.filter((l) => l.startsWith('# ')).map((l) => l.slice(2));
        const commands = lines.filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith(`node ${arg(b)}`));
        const script = commands.join('\n').replaceAll(':3000', `:${port}`);
        const run = spawnSync('bash', ['-c', script], { cwd: scratch.dir, encoding: 'utf8', timeout: 30_000 });
        assert.equal(run.stdout.trimEnd(), expected.join('\n'), `${where(requests)}:\n${run.stderr}\nserver output:\n${server.output()}`);
      } finally {
        const status = await server.stop('SIGTERM');
        scratch.cleanup();
        metrics.cleanup();
        assert.ok(status.code === 0 || status.signal === 'SIGTERM', `${arg(b)} stopped with ${JSON.stringify(status)}`);
      }
    });
  }
});

// ---------------------------------------------------------------------------
// The deployment files docs/deploy.md shows.

const EXAMPLE = (...parts: string[]): string => path.join(ROOT, 'examples', ...parts);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('deployment files of docs/deploy.md', () => {
  test('Kubernetes: the app and the exporter sidecar share a memory-backed emptyDir with a sizeLimit', () => {
    const docs = yaml.loadAll(fs.readFileSync(EXAMPLE('kubernetes', 'deployment.yaml'), 'utf8')) as Obj[];
    const deployment = docs.find((d) => d.kind === 'Deployment')!;
    assert.ok(deployment, 'a Deployment');
    const pod = deployment.spec.template;
    const volume = (pod.spec.volumes as Obj[]).find((v) => v.emptyDir)!;
    assert.equal(volume.emptyDir.medium, 'Memory');
    assert.match(String(volume.emptyDir.sizeLimit), /^\d+Mi$/);
    const containers = pod.spec.containers as Obj[];
    const mountOf = (c: Obj): string | undefined => (c.volumeMounts as Obj[] | undefined)?.find((m) => m.name === volume.name)?.mountPath;
    const dirOf = (c: Obj): string | undefined => (c.env as Obj[] | undefined)?.find((e) => e.name === 'PROMETHEUS_MULTIPROC_DIR')?.value;
    const exporter = containers.find((c) => (c.command ?? []).join(' ').includes('prom-multiproc serve'))!;
    assert.ok(exporter, 'a container runs prom-multiproc serve');
    const app = containers.find((c) => c !== exporter)!;
    for (const c of [app, exporter]) {
      assert.ok(mountOf(c), `${c.name} mounts ${volume.name}`);
      assert.equal(dirOf(c), mountOf(c), `${c.name}: PROMETHEUS_MULTIPROC_DIR is the mount`);
    }
    const command = (exporter.command as string[]).join(' ');
    assert.match(command, /--host 0\.0\.0\.0/, 'the sidecar listens on the pod address');
    const port = Number(/--port (\d+)/.exec(command)![1]);
    assert.ok((exporter.ports as Obj[]).some((p) => p.containerPort === port && p.name === 'metrics'));
    const annotations = pod.metadata.annotations as Obj;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/port'], String(port));
    assert.equal(exporter.readinessProbe.httpGet.path, '/healthz');
    const monitor = yaml.loadAll(fs.readFileSync(EXAMPLE('kubernetes', 'servicemonitor.yaml'), 'utf8')) as Obj[];
    const service = monitor.find((d) => d.kind === 'Service')!;
    const serviceMonitor = monitor.find((d) => d.kind === 'ServiceMonitor')!;
    assert.ok((service.spec.ports as Obj[]).some((p) => p.name === 'metrics' && p.targetPort === 'metrics'));
    assert.deepEqual(serviceMonitor.spec.selector.matchLabels, service.metadata.labels);
    assert.ok((serviceMonitor.spec.endpoints as Obj[]).some((e) => e.port === 'metrics' && e.path === '/metrics'));
    assert.deepEqual(service.spec.selector, pod.metadata.labels);
  });

  test('Docker: the metrics directory is a tmpfs mount of the service user', () => {
    const compose = yaml.load(fs.readFileSync(EXAMPLE('docker', 'compose.yaml'), 'utf8')) as Obj;
    const app = compose.services.app as Obj;
    const dir = app.environment.PROMETHEUS_MULTIPROC_DIR as string;
    const mount = (app.tmpfs as string[]).find((t) => t.startsWith(`${dir}:`));
    assert.ok(mount, `a tmpfs at ${dir}`);
    assert.match(mount, /size=\d+m/);
    assert.match(mount, /mode=07[05]0/);
    assert.match(String(app.user), new RegExp(`^${/uid=(\d+)/.exec(mount)![1]}:`));
  });

  test('systemd: RuntimeDirectory= is the directory, ExecStartPre= clears it, and that command works', () => {
    const unit = fs.readFileSync(EXAMPLE('systemd', 'myapp.service'), 'utf8');
    const value = (key: string): string => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)![1];
    const dir = /^Environment=PROMETHEUS_MULTIPROC_DIR=(\S+)$/m.exec(unit)![1];
    assert.equal(dir, `/run/${value('RuntimeDirectory')}`);
    assert.equal(value('RuntimeDirectoryMode'), '0700');
    const clear = value('ExecStartPre');
    assert.match(clear, new RegExp(`prom-multiproc clear --dir ${dir}$`));
    // The same arguments against a directory of our own.
    const work = tempDir('prom-multiproc-docs-systemd-');
    try {
      fs.writeFileSync(path.join(work.dir, 'counter_1.db'), Buffer.alloc(8));
      const args = clear.split(/\s+/).slice(clear.split(/\s+/).indexOf('clear'));
      const run = spawnSync(process.execPath, [CLI, ...args.slice(0, -1), work.dir], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(fs.readdirSync(work.dir), []);
    } finally {
      work.cleanup();
    }
  });

  describe('Prometheus: configuration and recording rules', { skip: skipUnlessInstalled('promtool') }, () => {
    test('promtool check rules accepts the recording rules', () => {
      const check = runPromtool(['check', 'rules', EXAMPLE('prometheus', 'recording-rules.yml')]);
      assert.equal(check.status, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /SUCCESS: \d+ rules found/);
    });

    test('promtool test rules: the rules sum over hosts as the page says', () => {
      const check = runPromtool(['test', 'rules', EXAMPLE('prometheus', 'recording-rules.test.yml')]);
      assert.equal(check.status, 0, check.stdout + check.stderr);
    });

    test('promtool check config accepts the scrape configuration', () => {
      const check = runPromtool(['check', 'config', EXAMPLE('prometheus', 'prometheus.yml')]);
      assert.equal(check.status, 0, check.stdout + check.stderr);
    });
  });
});

