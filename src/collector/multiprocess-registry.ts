import type { Logger } from '../log.js';
import { consoleLogger } from '../log.js';
import { counterNaming, resolveDir, type Naming } from '../storage/config.js';
import { announceScrape } from '../storage/scrape-signal.js';
import { DEFAULT_COMPACT_THRESHOLD, DirectoryMerge } from './directory-merge.js';
import type { Family } from './family.js';
import { familiesOf, familyOfSnapshot } from './registry-bridge.js';
import { register, Registry, type ExpositionContentType, type RegistrableMetric, type RegistryContentType } from './registry.js';
import type { MetricSnapshot } from './metric-text.js';

export { SKIPPED_FILES_FAMILY } from './directory-merge.js';

/** A registry whose metrics are served beside the merged ones (prom-client's, or anything with getMetricsAsJSON()). */
export interface SideRegistry {
  getMetricsAsJSON(): Promise<MetricSnapshot[]> | MetricSnapshot[];
  getMetricsAsArray?(): unknown[];
}

export interface MultiprocessRegistryOptions<T extends ExpositionContentType = RegistryContentType> {
  /** The directory to merge; default configure()'s dir or PROMETHEUS_MULTIPROC_DIR, read at each scrape. */
  dir?: string;
  /** Where skipped files are reported (once per file and reason); default console.warn. */
  logger?: Logger;
  /** prom-client registries whose per-process metrics are served alongside the merged ones. */
  registries?: SideRegistry[];
  /** Default the text format 0.0.4; PROMETHEUS_PROTOBUF_CONTENT_TYPE makes metrics() resolve with a Buffer. */
  contentType?: T;
  /**
   * Compact the directory (merge dead writers' files into accumulated ones)
   * after a scrape that found at least this many dead writers; 0 never does.
   * Default 4.
   */
  compactThreshold?: number;
  /** How counters are named in the output; default configure()'s naming. */
  naming?: Naming;
}

/**
 * A registry that serves the merged metrics of every process writing into
 * the multiprocess directory, whatever this process registered (without a
 * directory: this process's metrics, as `register` serves them). Its
 * options name a directory, a logger and the compaction threshold; the
 * CLI and the exporter serve through one. Keep one instance per process: it
 * remembers what it parsed, so a scrape only parses entries that are new.
 */
export class MultiprocessRegistry<T extends ExpositionContentType = RegistryContentType> extends Registry<T> {
  private readonly own: DirectoryMerge;

  constructor(private readonly options: MultiprocessRegistryOptions<T> = {}) {
    super(options.contentType ?? (Registry.PROMETHEUS_CONTENT_TYPE as T));
    this.own = new DirectoryMerge(options.logger ?? consoleLogger, options.compactThreshold ?? DEFAULT_COMPACT_THRESHOLD, options.naming ?? counterNaming(), 'python');
  }

  override get dir(): string | undefined {
    return resolveDir(this.options.dir);
  }

  protected override servesWholeDirectory(): boolean {
    return true;
  }

  protected override naming(): Naming {
    return this.options.naming ?? counterNaming();
  }

  protected override merge(): DirectoryMerge {
    return this.own;
  }

  /** In-process: what `register` serves, this registry's own metrics, and the side registries'. */
  protected override inProcessMetrics(): RegistrableMetric[] {
    const side = (this.options.registries ?? []).flatMap((registry) => (registry.getMetricsAsArray?.() ?? []) as RegistrableMetric[]);
    return [...register.getMetricsAsArray(), ...super.inProcessMetrics(), ...side];
  }

  protected override async besideFamilies(metrics: readonly RegistrableMetric[]): Promise<Family[]> {
    const families = await super.besideFamilies(metrics);
    for (const registry of this.options.registries ?? []) families.push(...(await familiesOf(registry)));
    return families;
  }

  /**
   * Closes the files this registry keeps open between scrapes (it holds one
   * descriptor per file it reads, up to 256). Call it before unmounting or
   * deleting the directory from this process; a later scrape opens them again.
   */
  close(): void {
    this.own.close();
  }

  /** The merged families, sorted by name, this registry's own error counter included. */
  async collect(): Promise<Family[]> {
    const dir = this.dir;
    if (!dir) {
      announceScrape(undefined);
      return Promise.all(this.inProcessMetrics().map(async (metric) => familyOfSnapshot(await metric.get())));
    }
    return (await this.scrape(dir, undefined)).map((part) => part.toFamily());
  }
}
