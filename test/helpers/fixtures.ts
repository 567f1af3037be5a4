import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'python-compat');

export interface FixtureMetric {
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  name: string;
  help: string;
  labelNames: string[];
  buckets?: number[];
  mode?: string;
}

export interface FixtureOp {
  metric: string;
  op: 'inc' | 'dec' | 'set' | 'observe' | 'touch';
  labels?: Record<string, string>;
  value?: number;
}

export interface FixtureWorker {
  pid: string;
  clock?: number;
  ops: FixtureOp[];
}

export interface FixtureCase {
  description: string;
  metrics: FixtureMetric[];
  workers: FixtureWorker[];
  dead?: string[];
}

export interface ExpectedSample {
  family: string;
  help: string;
  labels: Record<string, string>;
  name: string;
  type: string;
  value: string;
}

export function fixtureCases(): string[] {
  return fs.readdirSync(FIXTURES).sort();
}

export function loadCase(name: string): FixtureCase {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'ops.json'), 'utf8')) as FixtureCase;
}

export function loadExpected(name: string): ExpectedSample[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'expected.json'), 'utf8')) as ExpectedSample[];
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'prom-multiproc-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
