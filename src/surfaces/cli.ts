#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { MultiprocessRegistry, OPENMETRICS_CONTENT_TYPE } from '../collector/registry.js';
import { PromMultiprocError } from '../errors.js';

const USAGE = `Usage: prom-multiproc <command> [options]

Commands:
  metrics [--dir DIR] [--openmetrics]   Print the merged exposition of a multiprocess directory once.

Options:
  --dir DIR        The multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)
  --openmetrics    OpenMetrics 1.0 instead of the Prometheus text format 0.0.4
  -h, --help       Show this help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      openmetrics: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command !== 'metrics' || rest.length > 0) {
    process.stderr.write(command ? `prom-multiproc: unknown command "${[command, ...rest].join(' ')}"\n\n${USAGE}` : USAGE);
    return 2;
  }
  const dir = values.dir ?? process.env.PROMETHEUS_MULTIPROC_DIR;
  if (!dir) {
    process.stderr.write('prom-multiproc: no directory: pass --dir DIR or set PROMETHEUS_MULTIPROC_DIR\n');
    return 2;
  }
  const registry = new MultiprocessRegistry({
    dir,
    logger: { warn: (message) => process.stderr.write(`prom-multiproc: ${message}\n`) },
  });
  if (values.openmetrics) registry.setContentType(OPENMETRICS_CONTENT_TYPE);
  process.stdout.write(await registry.metrics());
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const known = err instanceof PromMultiprocError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`prom-multiproc: ${known ? (err as Error).message : (err as Error).stack}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
