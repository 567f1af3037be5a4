import type { Registry } from 'prom-client';
import { ValidationError } from '../errors.js';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, type RegistryContentType } from '../format/content-types.js';
import { dbFileName, parseDbFileName } from '../format/directory-names.js';
import { readUsed } from '../format/layout.js';
import type { MetricType } from '../format/names.js';
import { consoleLogger, printableLogger, type Logger } from '../log.js';
import { resolveDir } from '../storage/config.js';
import { existingProcessStorage } from '../storage/process-storage.js';
import { announceScrape } from '../storage/scrape-signal.js';
import { DirectoryScan } from './directory-scan.js';
import { endOfExposition, exposedFamilyName, familyHeader, type ExpositionFormat } from './exposition.js';
import { compareText } from '../format/names.js';
import type { Family } from './family.js';
import { IncrementalCollector } from './incremental.js';
import { familiesOf, plainPart, servedBeside, type Part } from './registry-bridge.js';
import { TextWriter } from './text-writer.js';

export { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, type OpenMetricsContentType, type PrometheusContentType, type RegistryContentType } from '../format/content-types.js';
/** prom-client's names for the same two content types. */
export const prometheusContentType = PROMETHEUS_CONTENT_TYPE;
export const openMetricsContentType = OPENMETRICS_CONTENT_TYPE;

/** The family the collector exports about itself. */
export const SKIPPED_FILES_FAMILY = 'prom_multiproc_skipped_files';
const SKIPPED_FILES_TYPE = 'counter';

export interface MultiprocessRegistryOptions {
  /** The directory to merge; default configure()'s dir or PROMETHEUS_MULTIPROC_DIR, read at the first scrape. */
  dir?: string;
  /** Where skipped files are reported (once per file and reason); default console.warn. */
  logger?: Logger;
  /** prom-client registries whose per-process metrics are served alongside the merged ones. */
  registries?: Registry[];
  contentType?: RegistryContentType;
  /**
   * Compact the directory (merge dead writers' files into accumulated ones)
   * after a scrape that found at least this many dead writers; 0 never does.
   * Default 4.
   */
  compactThreshold?: number;
}

const DEFAULT_COMPACT_THRESHOLD = 4;

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
 * multiprocess directory (or, without one, this process's own metrics).
 * Keep one instance per process: it remembers what it parsed, so a scrape
 * only parses entries that are new since the previous one.
 */
export class MultiprocessRegistry {
  private format: ExpositionFormat = 'prometheus';
  private readonly logger: Logger;
  private readonly reported = new Set<string>();
  /** The collector's own family keeps its names: a file's family that would expose one of them is ignored. */
  private readonly collector = new IncrementalCollector([{ name: SKIPPED_FILES_FAMILY, type: SKIPPED_FILES_TYPE }]);
  private readonly writer = new TextWriter();
  private readonly scan: DirectoryScan;
  private skippedFiles = 0;
  private readonly inflight = new Map<ExpositionFormat, Promise<string>>();
  private readonly memoryIdentities = new WeakMap<object, string>();

  constructor(private readonly options: MultiprocessRegistryOptions = {}) {
    // Messages name files of the directory, whose names its writers choose.
    this.logger = printableLogger(options.logger ?? consoleLogger);
    this.scan = new DirectoryScan(this.collector, this.logger, (subject, message) => this.report(subject, message), options.compactThreshold ?? DEFAULT_COMPACT_THRESHOLD);
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

  /**
   * The merged exposition in this registry's content type. Calls made while
   * one is under way share its result.
   */
  metrics(): Promise<string> {
    const format = this.format;
    let pending = this.inflight.get(format);
    if (!pending) {
      pending = this.scrape((parts) => {
        this.writer.reserve(this.collector.renderedSizeBound());
        for (const part of parts) part.render(format, this.writer);
        this.writer.text(endOfExposition(format));
        return this.writer.take();
      });
      const forget = (): void => void this.inflight.delete(format);
      pending.then(forget, forget);
      this.inflight.set(format, pending);
    }
    return pending;
  }

  /**
   * Closes the files this registry keeps open between scrapes (it holds one
   * descriptor per file it reads, up to 256). Call it before unmounting or
   * deleting the directory from this process; a later scrape opens them again.
   */
  close(): void {
    this.scan.close();
  }

  /** The merged metrics in prom-client's getMetricsAsJSON() shape. */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    return (await this.collect()).map((family) => ({
      name: exposedFamilyName(family.name, family.type, 'prometheus'),
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      values: family.samples.map((s) => ({ value: s.value, labels: s.labels, metricName: s.name })),
    }));
  }

  /** The merged families, sorted by name, this registry's own error counter included. */
  async collect(): Promise<Family[]> {
    return this.scrape((parts) => parts.map((part) => part.toFamily()));
  }

  /**
   * Reads every source and hands the families of this scrape to `produce`.
   * Everything after the registries' await runs synchronously, so parts,
   * which render from the collector's state, are used before another scrape
   * changes it.
   */
  private async scrape<T>(produce: (parts: Part[]) => T): Promise<T> {
    const dir = this.dir;
    // First of all: this process refreshes its runtime values now, other writers when they see the trigger.
    const trigger = announceScrape(dir);
    if (trigger) this.report(trigger.file, trigger.message);
    const extra: Family[] = [];
    for (const registry of this.options.registries ?? []) extra.push(...(await familiesOf(registry)));
    this.collector.begin();
    if (dir) this.skippedFiles += this.scan.add(dir);
    else this.addThisProcess();
    const parts: Part[] = this.collector.familyNames().map((name) => {
      const family = this.collector.family(name)!;
      return {
        name,
        render: (format, out) => {
          out.text(familyHeader(family.name, family.type, family.help, format));
          this.collector.renderSamples(family, out);
        },
        toFamily: () => this.collector.toFamily(family),
      };
    });
    parts.push(...servedBeside(this.collector, extra, (subject, message) => this.report(subject, message)));
    parts.push(
      plainPart({
        name: SKIPPED_FILES_FAMILY,
        type: SKIPPED_FILES_TYPE,
        help: 'Multiprocess files the collector could not read and skipped, counted at every scrape that skipped them.',
        samples: [{ name: `${SKIPPED_FILES_FAMILY}_total`, labels: {}, value: this.skippedFiles }],
      }),
    );
    return produce(parts.sort((a, b) => compareText(a.name, b.name)));
  }

  private addThisProcess(): void {
    const storage = existingProcessStorage();
    const present = new Set<string>();
    for (const [prefix, store] of storage?.memoryStores() ?? []) {
      const file = store.entryFile;
      if (!file) continue;
      const source = parseDbFileName(dbFileName(prefix, 'memory'))!;
      let identity = this.memoryIdentities.get(file);
      if (!identity) {
        identity = `memory:${prefix}`;
        this.memoryIdentities.set(file, identity);
      }
      const buf = file.buffer;
      present.add(identity);
      this.collector.add({ name: identity, identity, buf, used: readUsed(buf), type: source.type, mode: source.mode, hidden: file.hidden });
    }
    this.collector.retainSources(present);
  }

  private report(subject: string, message: string): void {
    const key = `${subject}\u0000${message}`;
    if (this.reported.has(key)) return;
    if (this.reported.size >= MAX_REMEMBERED_PROBLEMS) this.reported.clear();
    this.reported.add(key);
    this.logger.warn(`${subject}: ${message}`);
  }
}
