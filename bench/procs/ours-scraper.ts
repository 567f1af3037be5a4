// The collector process of the scrape benchmark for this library: a fresh
// process (so that the cold scrape finds nothing cached and the memory
// growth is the collector's alone) that scrapes the directory in argv[2] with
// a new MultiprocessRegistry and sends {type: 'result', stats, warnings}.
import { MultiprocessRegistry } from '../../src/index.js';
import { measureScrapes, type ScrapeOptions } from '../lib/measure.js';

async function main(): Promise<void> {
  const dir = process.argv[2];
  const options = JSON.parse(process.argv[3]) as ScrapeOptions & { samplePrefix: string };
  const warnings: string[] = [];
  const registry = new MultiprocessRegistry({ dir, logger: { warn: (message) => warnings.push(message) } });
  const stats = await measureScrapes(() => registry.metrics(), options.samplePrefix, options);
  process.send!({ type: 'result', stats, warnings: warnings.slice(0, 20) }, () => process.disconnect());
}

main().catch((err: unknown) => {
  process.send!({ type: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1));
});
