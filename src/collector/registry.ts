import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry, type RegistryContentType } from 'prom-client';
import { FileFormatError, ValidationError } from '../errors.js';
import { parseDbFileName, type MetricType } from '../format/names.js';
import { consoleLogger, type Logger } from '../log.js';
import { checkDirectory, existingProcessStorage, resolveDir } from '../storage/process-storage.js';
import { exposedFamilyName, renderExposition, type ExpositionFormat } from './exposition.js';
import { Merger, type Family } from './merge.js';
import { parseEntries, readEntryFile } from './read.js';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

/** The family the collector exports about itself. */
export const SKIPPED_FILES_FAMILY = 'prom_multiproc_skipped_files';

export interface MultiprocessRegistryOptions {
  /** The directory to merge; default configure()'s dir or PROMETHEUS_MULTIPROC_DIR, read at the first scrape. */
  dir?: string;
  /** Where skipped files are reported (once per file and reason); default console.warn. */
  logger?: Logger;
  /** prom-client registries whose per-process metrics are served alongside the merged ones. */
  registries?: Registry[];
  contentType?: RegistryContentType;
}

/** prom-client's JSON shape for one metric. */
export interface MetricJSON {
  name: string;
  help: string;
  type: MetricType;
  aggregator: 'sum';
  values: Array<{ value: number; labels: Record<string, string>; metricName: string }>;
}

const MAX_REMEMBERED_PROBLEMS = 10000;

/**
 * Serves the merged metrics of every process that writes into the
 * multiprocess directory (or, without one, this process's metrics).
 */
export class MultiprocessRegistry {
  private format: ExpositionFormat;
  private readonly logger: Logger;
  private readonly reported = new Set<string>();
  private skippedFiles = 0;

  constructor(private readonly options: MultiprocessRegistryOptions = {}) {
    this.logger = options.logger ?? consoleLogger;
    this.format = 'prometheus';
    if (options.contentType) this.setContentType(options.contentType);
  }

  get contentType(): RegistryContentType {
    return this.format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  }

  setContentType(contentType: RegistryContentType): void {
    if (contentType === OPENMETRICS_CONTENT_TYPE) this.format = 'openmetrics';
    else if (contentType === PROMETHEUS_CONTENT_TYPE) this.format = 'prometheus';
    else throw new ValidationError(`Content type ${String(contentType)} is not supported; use ${PROMETHEUS_CONTENT_TYPE} or ${OPENMETRICS_CONTENT_TYPE}`);
  }

  /** The directory this registry merges, or undefined for in-process mode. */
  get dir(): string | undefined {
    return resolveDir(this.options.dir);
  }

  /** The merged exposition in this registry's content type. */
  async metrics(): Promise<string> {
    return renderExposition(await this.collect(), this.format);
  }

  /** The merged metrics in prom-client's getMetricsAsJSON() shape. */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    return (await this.collect()).map((family) => ({
      name: exposedFamilyName(family, 'prometheus'),
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      values: family.samples.map((s) => ({ value: s.value, labels: s.labels, metricName: s.name })),
    }));
  }

  /** The merged families, sorted by name, this registry's own error counter included. */
  async collect(): Promise<Family[]> {
    const merger = new Merger();
    const dir = this.dir;
    if (dir) this.mergeDirectory(dir, merger);
    else this.mergeThisProcess(merger);
    const families = merger.result();
    for (const registry of this.options.registries ?? []) await this.addRegistry(registry, families);
    families.push({
      name: SKIPPED_FILES_FAMILY,
      type: 'counter',
      help: 'Multiprocess files the collector could not read and skipped, counted at every scrape that skipped them.',
      samples: [{ name: `${SKIPPED_FILES_FAMILY}_total`, labels: {}, value: this.skippedFiles }],
    });
    return families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private mergeDirectory(dir: string, merger: Merger): void {
    checkDirectory(dir, fs.constants.R_OK);
    const names = fs.readdirSync(dir).filter((name) => name.endsWith('.db')).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      const source = parseDbFileName(name);
      if (!source) {
        this.skip(file, 'not a metrics file name (expected counter_, histogram_, summary_ or gauge_<mode>_ and an id without "_")');
        continue;
      }
      let entries;
      try {
        entries = readEntryFile(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed since the listing: not an error
        if (err instanceof FileFormatError) this.skip(file, err.reason);
        else this.skip(file, (err as Error).message);
        continue;
      }
      for (const family of merger.add(source, entries)) {
        this.report(file, `family ${family} is a ${source.type} here but another type in an earlier file; its entries here are ignored`);
      }
    }
  }

  private mergeThisProcess(merger: Merger): void {
    const storage = existingProcessStorage();
    if (!storage) return;
    for (const [prefix, store] of storage.memoryStores()) {
      const file = store.entryFile;
      if (!file) continue;
      const source = parseDbFileName(`${prefix}_memory.db`)!;
      merger.add({ type: source.type, mode: source.mode }, parseEntries(file.buffer, file.buffer.length, file.hidden));
    }
  }

  private async addRegistry(registry: Registry, families: Family[]): Promise<void> {
    const known = new Set(families.map((f) => f.name));
    for (const metric of await registry.getMetricsAsJSON()) {
      const type = String(metric.type) as MetricType;
      const family = type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
      if (known.has(family)) {
        this.report(`registry metric ${metric.name}`, 'has the name of a multiprocess metric; the multiprocess one is served');
        continue;
      }
      known.add(family);
      families.push({
        name: family,
        type,
        help: metric.help,
        samples: metric.values.map((v) => {
          const named = v as typeof v & { metricName?: string };
          const labels: Record<string, string> = {};
          for (const [k, value] of Object.entries(v.labels)) if (value !== undefined) labels[k] = String(value);
          const name = type === 'counter' ? `${family}_total` : (named.metricName ?? metric.name);
          return { name, labels, value: v.value };
        }),
      });
    }
  }

  private skip(file: string, reason: string): void {
    this.skippedFiles++;
    this.report(file, `skipped: ${reason}`);
  }

  private report(subject: string, message: string): void {
    const key = `${subject}\u0000${message}`;
    if (this.reported.has(key)) return;
    if (this.reported.size >= MAX_REMEMBERED_PROBLEMS) this.reported.clear();
    this.reported.add(key);
    this.logger.warn(`${subject}: ${message}`);
  }
}

