#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MultiprocessRegistry } from '../collector/multiprocess-registry.js';
import { OPENMETRICS_CONTENT_TYPE } from '../collector/registry.js';
import { PromMultiprocError } from '../errors.js';
import { compact } from '../storage/compaction.js';
import { describeDirectoryLock } from '../storage/directory-lock.js';
import { clearMultiprocDir } from '../storage/directory.js';
import { checkDirectory, requireDir } from '../storage/config.js';
import { printable, type Logger } from '../log.js';
import { DEFAULT_EXPORTER_HOST, DEFAULT_EXPORTER_PORT, DEFAULT_METRICS_PATH, HEALTH_PATH, startExporter } from './exporter.js';
import { formatInspection, inspectFile } from './inspect.js';

const USAGE = `Usage: prom-multiproc <command> [options]

Commands:
  metrics [--dir DIR] [--openmetrics]   Print the merged exposition of a multiprocess directory once.
  serve [--dir DIR] [--host HOST] [--port PORT] [--path PATH]
                                        Serve the merged metrics over HTTP, read on every scrape.
  inspect FILE...                       Print the entries of .db (and .nhdb) files; say what is wrong with a corrupt one.
  compact [--dir DIR]                   Merge the files of dead writers into accumulated files and remove them.
  clear [--dir DIR] [--force]           Empty the directory before a service starts (create it if missing).

Options:
  --dir DIR        The multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)
  --openmetrics    OpenMetrics 1.0 instead of the Prometheus text format 0.0.4
  -h, --help       Show this help (prom-multiproc <command> --help: that command's)
`;

const SERVE_USAGE = `Usage: prom-multiproc serve [--dir DIR] [--host HOST] [--port PORT] [--path PATH]

Serves the merged metrics of a multiprocess directory over HTTP, reading the
directory on every scrape. OpenMetrics when the Accept header asks for it,
gzip when Accept-Encoding allows; ${HEALTH_PATH} answers 200; anything else 404.
Stops cleanly on SIGTERM and SIGINT.

Options:
  --dir DIR        The multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)
  --host HOST      Address to bind (default: ${DEFAULT_EXPORTER_HOST}, this machine only)
  --port PORT      Port to bind (default: ${DEFAULT_EXPORTER_PORT}; 0 picks a free one)
  --path PATH      Where the metrics are served (default: ${DEFAULT_METRICS_PATH})
  -h, --help       Show this help
`;

const INSPECT_USAGE = `Usage: prom-multiproc inspect FILE...

Prints every entry of each .db or .nhdb file (byte offset, value, timestamp,
key). For a file a collector would skip, prints the entries before the damage
and what is wrong with the byte offset, and exits 1.

Options:
  -h, --help       Show this help
`;

const COMPACT_USAGE = `Usage: prom-multiproc compact [--dir DIR]

Merges the files of dead writers (their liveness lock is gone or stale) into
the accumulated files <prefix>_compacted.db and removes them; a scrape exports
the same before and after. Safe while writers and scrapers run, and against
being killed at any step. A serving MultiprocessRegistry also does this on its own.

Options:
  --dir DIR        The multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)
  -h, --help       Show this help
`;

const CLEAR_USAGE = `Usage: prom-multiproc clear [--dir DIR] [--force]

Removes this library's files from the directory (metrics files, liveness locks
and markers, compaction leftovers; nothing else) and creates the directory,
writable by its owner only, when it is missing. Run it before the writers
start: in the node:cluster primary before forking, a PM2 pre-start step, or a
container entrypoint. Refuses while live writers hold their locks.

Options:
  --dir DIR        The multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)
  --force          Clear even while live writers hold their locks
  -h, --help       Show this help
`;

/** `<command> --help` (metrics shows the overall usage, which describes it). */
const COMMAND_USAGE: Record<string, string> = {
  serve: SERVE_USAGE,
  inspect: INSPECT_USAGE,
  compact: COMPACT_USAGE,
  clear: CLEAR_USAGE,
};

type Options = NonNullable<ParseArgsConfig['options']>;

const HELP: Options = { help: { type: 'boolean', short: 'h', default: false } };
const COMMAND_OPTIONS: Record<string, Options> = {
  metrics: { ...HELP, dir: { type: 'string' }, openmetrics: { type: 'boolean', default: false } },
  serve: { ...HELP, dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, path: { type: 'string' } },
  inspect: { ...HELP },
  compact: { ...HELP, dir: { type: 'string' } },
  clear: { ...HELP, dir: { type: 'string' }, force: { type: 'boolean', default: false } },
};
const ALL_OPTIONS: Options = Object.assign({}, ...Object.values(COMMAND_OPTIONS)) as Options;

class UsageError extends Error {}

const stderrLogger: Logger = { warn: (message) => process.stderr.write(`prom-multiproc: ${message}\n`) };

/** --dir, else the directory every part of the library finds (configure() has none here, so the environment's). */
function directoryOption(command: string, dir: unknown): string {
  return requireDir(dir as string | undefined, command, 'pass --dir DIR');
}

async function main(argv: string[]): Promise<number> {
  // A first, lenient pass finds the command, wherever options stand; the second checks that command's options.
  const { positionals: found } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: ALL_OPTIONS });
  const command = typeof found[0] === 'string' ? found[0] : undefined;
  const options = command !== undefined && Object.hasOwn(COMMAND_OPTIONS, command) ? COMMAND_OPTIONS[command] : HELP;
  let parsed: { values: Record<string, string | boolean | Array<string | boolean> | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options });
  } catch (err) {
    // An option of another command (or none) is an error here; help still wins, as users expect.
    if (argv.includes('--help') || argv.includes('-h')) parsed = { values: { help: true }, positionals: found };
    else throw err;
  }
  const { values, positionals } = parsed;
  if (command === 'help' || (values.help && (command === undefined || command === 'metrics'))) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.help && command !== undefined && Object.hasOwn(COMMAND_USAGE, command)) {
    process.stdout.write(COMMAND_USAGE[command]);
    return 0;
  }
  const rest = positionals.slice(1);
  switch (command) {
    case 'metrics':
      if (rest.length > 0) break;
      return printMetrics(directoryOption(command, values.dir), values.openmetrics === true);
    case 'serve':
      if (rest.length > 0) break;
      return serve(values);
    case 'inspect':
      if (rest.length === 0) throw new UsageError(`inspect needs at least one FILE\n\n${INSPECT_USAGE}`);
      return inspect(rest);
    case 'compact':
      if (rest.length > 0) break;
      return compactCommand(directoryOption(command, values.dir));
    case 'clear':
      if (rest.length > 0) break;
      return clearCommand(directoryOption(command, values.dir), values.force === true);
    case undefined:
      process.stderr.write(USAGE);
      return 2;
  }
  throw new UsageError(`unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
}

function compactCommand(dir: string): number {
  checkDirectory(dir, undefined, stderrLogger);
  const result = compact(dir, { logger: stderrLogger });
  if (!result) {
    process.stderr.write(`prom-multiproc: another compaction is running in ${dir} (${describeDirectoryLock(dir)}); try again later\n`);
    return 1;
  }
  process.stdout.write(
    result.compacted.length === 0
      ? `nothing to compact in ${dir}\n`
      : `compacted ${result.compacted.length} dead writer(s), ${result.removedFiles} file(s) removed, in ${dir}\n`,
  );
  return 0;
}

function clearCommand(dir: string, force: boolean): number {
  const result = clearMultiprocDir(dir, { force, logger: stderrLogger });
  const forced = result.liveWriters.length > 0 ? ` (live writers ${result.liveWriters.join(', ')} cleared by --force)` : '';
  process.stdout.write(`cleared ${result.dir}: ${result.removed.length} entries removed${forced}\n`);
  for (const { name, reason } of result.skipped) stderrLogger.warn(printable(`left ${name} in ${result.dir}: ${reason}`));
  return 0;
}

async function printMetrics(dir: string, openMetrics: boolean): Promise<number> {
  // A one-off read: it never changes the directory (no compaction).
  const registry = new MultiprocessRegistry({ dir, logger: stderrLogger, compactThreshold: 0 });
  if (openMetrics) registry.setContentType(OPENMETRICS_CONTENT_TYPE);
  process.stdout.write(await registry.metrics());
  return 0;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_EXPORTER_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got "${text}"`);
  return port;
}

async function serve(values: Record<string, unknown>): Promise<number> {
  const dir = directoryOption('serve', values.dir);
  const path = (values.path as string | undefined) ?? DEFAULT_METRICS_PATH;
  if (!path.startsWith('/')) throw new UsageError(`--path must start with /, got "${path}"`);
  const host = (values.host as string | undefined) ?? DEFAULT_EXPORTER_HOST;
  const port = parsePort(values.port as string | undefined);
  let exporter;
  try {
    exporter = await startExporter({ dir, host, port, path, logger: stderrLogger });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      process.stderr.write(`prom-multiproc: cannot listen on ${host}:${port}: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`prom-multiproc: serving the metrics of ${dir} at ${exporter.url}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second Ctrl-C: drop the scrapes under way.
        exporter.server.closeAllConnections();
        return;
      }
      stopping = true;
      process.stderr.write(`prom-multiproc: ${signal}: stopping\n`);
      void exporter.close().then(() => resolve(0));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function inspect(files: string[]): number {
  let failed = 0;
  for (const file of files) {
    const inspection = inspectFile(file);
    process.stdout.write(formatInspection(inspection));
    if (inspection.problems.length > 0) failed++;
  }
  if (failed > 0) process.stderr.write(`prom-multiproc: ${failed} of ${files.length} files have problems\n`);
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // serve's signal listeners would keep nothing alive, but leave no doubt about the exit.
    if (code === 0) process.removeAllListeners('SIGTERM').removeAllListeners('SIGINT');
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`prom-multiproc: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    const known = err instanceof PromMultiprocError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`prom-multiproc: ${known ? (err as Error).message : (err as Error).stack}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
