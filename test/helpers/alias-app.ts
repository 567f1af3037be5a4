// A throwaway application that takes the alias route exactly as a user
// would: `npm pack` of this package (built), an app whose package.json maps
// `prom-client` and `@prometheus-io/client` to that tarball with npm aliases
// and `overrides` (so that the libraries' own dependencies and peers get it
// too), and the real express-prom-bundle, fastify-metrics, @promster/express
// and @willsoto/nestjs-prometheus (with NestJS) from the npm registry, at the versions of our package-lock.json (they are development
// dependencies of this package so that the versions are recorded).
//
// The installed app is kept in a cache under os.tmpdir(), keyed on the
// tarball's hash, the app's package.json and the Node version, so a rerun
// with the same build installs nothing. Each run gets a folder of its own
// with the app's scripts (test/fixtures/alias-app/) and a node_modules link
// to the cached installation.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exampleEnv, ROOT } from './examples-processes.js';

export const APP_FIXTURE = path.join(ROOT, 'test', 'fixtures', 'alias-app');
export const CACHE_ROOT = path.join(os.tmpdir(), 'prom-multiproc-alias-apps');
/** Cached installations unused for this long are removed when another is made. */
const CACHE_MAX_AGE_MS = 24 * 3600 * 1000;
const INSTALL_TIMEOUT_MS = 8 * 60 * 1000;

/** The package names the app maps to our tarball. */
export const ALIASED = ['prom-client', '@prometheus-io/client'] as const;

/** The libraries and frameworks the app installs, at the exact versions of our package-lock.json. */
export const LIBRARIES = [
  'express',
  'express-prom-bundle',
  'fastify',
  'fastify-metrics',
  '@promster/express',
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@willsoto/nestjs-prometheus',
  'reflect-metadata',
  'rxjs',
] as const;

export function lockedVersions(): Record<(typeof LIBRARIES)[number], string> {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  return Object.fromEntries(
    LIBRARIES.map((name) => {
      if (!manifest.devDependencies[name]) throw new Error(`${name} is not a development dependency of package.json`);
      const version = lock.packages[`node_modules/${name}`]?.version;
      if (!version) throw new Error(`package-lock.json has no node_modules/${name}: run npm install`);
      return [name, version];
    }),
  ) as Record<(typeof LIBRARIES)[number], string>;
}

/** The published form of the alias, `npm:prom-multiproc@^0.1` for this version (0.1.x). */
export function publishedAlias(): string {
  const { name, version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const [major, minor] = version.split('.');
  return `npm:${name}@^${major === '0' ? `0.${minor}` : major}`;
}

/**
 * The app's package.json: each alias as `spec` (the test installs
 * `file:./<tarball>`, the local form of `npm:prom-multiproc@^0.1`), the
 * overrides as `$name` references to those dependencies, the libraries
 * pinned. test/fixtures/alias-app/package.json is the published form, which
 * docs/migrating-from-prom-client.md shows.
 */
export function appManifest(spec: string, versions = lockedVersions()): Record<string, unknown> {
  return {
    name: 'alias-route-app',
    version: '1.0.0',
    private: true,
    dependencies: {
      ...Object.fromEntries(ALIASED.map((name) => [name, spec])),
      ...versions,
    },
    overrides: Object.fromEntries(ALIASED.map((name) => [name, `$${name}`])),
  };
}

export interface Installation {
  /** The cached app folder: package.json, the tarball, package-lock.json, node_modules. */
  dir: string;
  /** How long `npm install` took, or undefined when the cache had the installation. */
  installMs: number | undefined;
  /** npm's output of that install (from the cache: the output it had then). */
  npmOutput: string;
  tarballSha256: string;
}

export interface AliasApp extends Installation {
  /** This run's folder: the app's scripts and a node_modules link to the installation. */
  runDir: string;
  cleanup(): void;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout and stderr, interleaved as received. */
  output: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: exampleEnv({ npm_config_update_notifier: 'false' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, output });
    });
  });
}

/** Thrown when the npm registry cannot be reached (outside CI the tests then skip). */
export class RegistryUnreachable extends Error {}

const NETWORK_ERRORS = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b/;

/** `npm pack` of the built package into `dest`; returns the tarball's path. */
async function packTarball(dest: string): Promise<string> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run npm run build first');
  // --ignore-scripts: dist/ is built already (prepare would build it again).
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], ROOT, 120_000);
  if (pack.code !== 0) throw new Error(`npm pack failed (${pack.code ?? pack.signal}):\n${pack.output}`);
  const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
  return path.join(dest, filename);
}

function pruneCache(keep: string): void {
  if (!fs.existsSync(CACHE_ROOT)) return;
  for (const name of fs.readdirSync(CACHE_ROOT)) {
    const entry = path.join(CACHE_ROOT, name);
    if (entry === keep) continue;
    try {
      if (Date.now() - fs.statSync(entry).mtimeMs > CACHE_MAX_AGE_MS) fs.rmSync(entry, { recursive: true, force: true });
    } catch {
      // another run removed it
    }
  }
}

/**
 * The installed app for the current build: from the cache, or packed and
 * installed now (`npm install --prefer-offline --no-audit --no-fund`).
 */
export async function installAliasApp(): Promise<Installation> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-alias-pack-'));
  try {
    const packed = await packTarball(scratch);
    const tarballSha256 = sha256(fs.readFileSync(packed));
    const tarballName = path.basename(packed);
    const manifest = appManifest(`file:./${tarballName}`);
    const key = sha256(JSON.stringify({ tarballSha256, manifest, node: process.version, arch: process.arch })).slice(0, 20);
    const dir = path.join(CACHE_ROOT, key);
    const record = path.join(dir, 'installed.json');
    fs.mkdirSync(CACHE_ROOT, { recursive: true });
    pruneCache(dir);
    if (fs.existsSync(record)) {
      const now = new Date();
      fs.utimesSync(dir, now, now);
      const { npmOutput } = JSON.parse(fs.readFileSync(record, 'utf8')) as { npmOutput: string };
      return { dir, installMs: undefined, npmOutput, tarballSha256 };
    }

    // Installed under a temporary name and renamed once complete: a cached folder is always a whole installation.
    const partial = fs.mkdtempSync(path.join(CACHE_ROOT, `${key}.partial-`));
    try {
      fs.copyFileSync(packed, path.join(partial, tarballName));
      fs.writeFileSync(path.join(partial, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const started = Date.now();
      const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], partial, INSTALL_TIMEOUT_MS);
      const installMs = Date.now() - started;
      if (install.code !== 0) {
        const message = `npm install of the alias app failed (${install.code ?? install.signal}) in ${partial}:\n${install.output}`;
        if (NETWORK_ERRORS.test(install.output)) throw new RegistryUnreachable(message);
        throw new Error(message);
      }
      fs.writeFileSync(path.join(partial, 'installed.json'), `${JSON.stringify({ installMs, npmOutput: install.output, tarballSha256 }, null, 2)}\n`);
      try {
        fs.renameSync(partial, dir);
      } catch (err) {
        // Another run installed the same app meanwhile: use that one.
        if (!fs.existsSync(record)) throw err;
        fs.rmSync(partial, { recursive: true, force: true });
      }
      return { dir, installMs, npmOutput: install.output, tarballSha256 };
    } catch (err) {
      fs.rmSync(partial, { recursive: true, force: true });
      throw err;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The installed app, and a fresh folder for this run with the app's scripts. */
export async function prepareAliasApp(): Promise<AliasApp> {
  const installation = await installAliasApp();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-alias-run-'));
  // The scripts, and the package.json the installation was made from (the fixture's is the published form).
  for (const name of fs.readdirSync(APP_FIXTURE)) fs.copyFileSync(path.join(APP_FIXTURE, name), path.join(runDir, name));
  fs.copyFileSync(path.join(installation.dir, 'package.json'), path.join(runDir, 'package.json'));
  fs.symlinkSync(path.join(installation.dir, 'node_modules'), path.join(runDir, 'node_modules'), 'dir');
  return { ...installation, runDir, cleanup: () => fs.rmSync(runDir, { recursive: true, force: true }) };
}

export interface InstalledPackage {
  /** Where it is, relative to the app. */
  where: string;
  /** The name in its package.json (prom-multiproc for an alias of ours). */
  name: string;
  version: string;
}

/**
 * Every installed copy of a package called `names` anywhere in the app's
 * node_modules tree (top level and nested), with what it really is.
 */
export function installedCopies(appDir: string, names: readonly string[]): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  const visit = (modules: string): void => {
    if (!fs.existsSync(modules)) return;
    for (const entry of fs.readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const scoped = entry.startsWith('@');
      const packages = scoped ? fs.readdirSync(path.join(modules, entry)).map((sub) => `${entry}/${sub}`) : [entry];
      for (const name of packages) {
        const dir = path.join(modules, name);
        if (names.includes(name)) {
          const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
          found.push({ where: path.relative(appDir, dir), name: manifest.name, version: manifest.version });
        }
        visit(path.join(dir, 'node_modules'));
      }
    }
  };
  visit(path.join(appDir, 'node_modules'));
  return found.sort((a, b) => a.where.localeCompare(b.where));
}
