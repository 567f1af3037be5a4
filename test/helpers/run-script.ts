import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ScriptResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const SRC = path.join(__dirname, '..', '..', 'src', 'index.ts');
const PROM_CLIENT = require.resolve('prom-client');

/**
 * Runs a TypeScript snippet in a fresh Node process, so that configure() and
 * the environment start clean. The snippet sees the library as `lib`,
 * prom-client as `prom`, and may use await.
 */
export function runSnippet(body: string, env: NodeJS.ProcessEnv = {}): ScriptResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-snippet-'));
  const file = path.join(dir, 'snippet.ts');
  fs.writeFileSync(file, `const lib = require(${JSON.stringify(SRC)});\nconst prom = require(${JSON.stringify(PROM_CLIENT)});\n(async () => {\n${body}\n})().catch((err) => { console.error(err); process.exit(1); });\n`);
  try {
    const result = spawnSync(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: '', prometheus_multiproc_dir: '', ...env },
      encoding: 'utf8',
    });
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a snippet that must succeed and returns its stdout lines parsed as JSON. */
export function runSnippetLines(body: string, env: NodeJS.ProcessEnv = {}): unknown[] {
  const result = runSnippet(body, env);
  assert.equal(result.status, 0, `snippet failed:\n${result.stderr}`);
  return result.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown);
}

/**
 * Snippet code: `expectError(() => ..., 'ValidationError', 'text', ...)`
 * prints whether the call threw that error (one of ours) with every text in
 * its message; check the lines with assertAllErrorsOk.
 */
export const EXPECT_ERROR = `
function expectError(fn, name, ...parts) {
  try { fn(); } catch (err) {
    const ok = err instanceof lib[name] && err instanceof lib.PromMultiprocError && parts.every((p) => err.message.includes(p));
    console.log(JSON.stringify({ ok, name: err.constructor.name, message: err.message, call: String(fn), expected: [name, ...parts] }));
    return;
  }
  console.log(JSON.stringify({ ok: false, message: 'nothing thrown', call: String(fn), expected: [name, ...parts] }));
}`;

export function assertAllErrorsOk(lines: unknown[]): void {
  for (const line of lines) {
    const result = line as { ok?: boolean; message?: string };
    if ('ok' in result) assert.ok(result.ok, `unexpected error or message: ${JSON.stringify(result)}`);
  }
}
