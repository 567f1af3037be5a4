import { ValidationError } from '../errors.js';
import { exposedNames, type MetricType } from '../format/names.js';
import { consoleLogger } from '../log.js';
import { Metric } from '../metrics/metric.js';
import { installDefaultRegistry } from '../metrics/registries.js';
import { unwatchCollect, watchCollect } from '../metrics/collect-callbacks.js';
import { configuredOptions, counterNaming, resolveDir, type Naming } from '../storage/config.js';
import {
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  PROMETHEUS_PROTOBUF_CONTENT_TYPE,
  type ExpositionContentType,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type PrometheusProtobufContentType,
  type RegistryMetrics,
} from '../format/content-types.js';
import { announceScrape } from '../storage/scrape-signal.js';
import { DirectoryMerge } from './directory-merge.js';
import { endOfExposition, exposedFamilyName, familyWithDefaults, type ExpositionFormat } from './exposition.js';
import type { Family } from './family.js';
import type * as ProtobufExposition from './protobuf-exposition.js';
import { joinMetricTexts, metricText, type MetricSnapshot } from './metric-text.js';
import type { Part } from './registry-bridge.js';
import { familyOfSnapshot } from './registry-bridge.js';
import { READ_ALL, type SidecarReads } from './directory-scan.js';

export {
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  PROMETHEUS_PROTOBUF_CONTENT_TYPE,
  type ExpositionContentType,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type PrometheusProtobufContentType,
  type RegistryContentType,
  type RegistryMetrics,
} from '../format/content-types.js';
/** prom-client's names for the same content types (the protobuf one as client_js PR #856 names it). */
export const prometheusContentType = PROMETHEUS_CONTENT_TYPE;
export const openMetricsContentType = OPENMETRICS_CONTENT_TYPE;
export const prometheusProtobufContentType = PROMETHEUS_PROTOBUF_CONTENT_TYPE;

/** What a registry serves: one of the text formats, or protobuf. */
export type ScrapeFormat = ExpositionFormat | 'protobuf';

/** What a registry takes (prom-client takes any object with a name and get()). */
export interface RegistrableMetric {
  name: string;
  get(): MetricSnapshot | Promise<MetricSnapshot>;
  getForPromString?(): MetricSnapshot | Promise<MetricSnapshot>;
  reset?(): void;
}

/** One metric in prom-client's getMetricsAsJSON() shape. */
export interface MetricJSON {
  name: string;
  help: string;
  type: MetricType;
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

function formatOf(contentType: unknown, error: (message: string) => Error): ScrapeFormat {
  if (contentType === PROMETHEUS_CONTENT_TYPE) return 'prometheus';
  if (contentType === OPENMETRICS_CONTENT_TYPE) return 'openmetrics';
  if (contentType === PROMETHEUS_PROTOBUF_CONTENT_TYPE) return 'protobuf';
  throw error(`Content type ${String(contentType)} is unsupported; use ${PROMETHEUS_CONTENT_TYPE}, ${OPENMETRICS_CONTENT_TYPE} or ${PROMETHEUS_PROTOBUF_CONTENT_TYPE}`);
}

const CONTENT_TYPES: Record<ScrapeFormat, ExpositionContentType> = {
  prometheus: PROMETHEUS_CONTENT_TYPE,
  openmetrics: OPENMETRICS_CONTENT_TYPE,
  protobuf: PROMETHEUS_PROTOBUF_CONTENT_TYPE,
};

/** The content type of `format`. */
export function contentTypeOf(format: ScrapeFormat): ExpositionContentType {
  return CONTENT_TYPES[format];
}

/** The text format a protobuf registry's text methods (getMetricsAsString and the like) write: the 0.0.4 one. */
function textFormatOf(format: ScrapeFormat): ExpositionFormat {
  return format === 'protobuf' ? 'prometheus' : format;
}

let protobufModule: typeof ProtobufExposition | undefined;

/** `families` as a protobuf body; its encoder is loaded at the first protobuf scrape, as most processes never serve one (start-up is measured). */
function protobufExposition(families: readonly Family[]): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  protobufModule ??= require('./protobuf-exposition.js') as typeof ProtobufExposition;
  return protobufModule.protobufExposition(families);
}

/** The registries each metric is in: one leaving its last in multiprocess mode gives up its series. */
const membership = new WeakMap<object, Set<AnyRegistry>>();
type AnyRegistry = Registry<ExpositionContentType>;

/**
 * The registries of this process each family's metric objects are in. A
 * registry serving the whole directory leaves out the families this process
 * registered only in registries it does not serve (a custom registry's, on
 * another route), as prom-client's `register` never shows them: every
 * process of a service runs the same code, so what this one registered
 * elsewhere the others did too.
 */
const registriesOfFamily = new Map<string, Set<AnyRegistry>>();

/** The merge the registries of this process share (one parse of the directory, kept between scrapes). */
let sharedMerge: DirectoryMerge | undefined;

/**
 * prom-client's Registry. In-process (no multiprocess directory) it is
 * prom-client's: it serves the metrics registered in it, byte for byte as
 * prom-client does. With a directory, it serves the merged values of every
 * process for the families registered in it (`register` and
 * MultiprocessRegistry: the whole directory), after running the collect()
 * of its metrics in this process and asking the other writers for theirs.
 */
export class Registry<BoundContentType extends ExpositionContentType = PrometheusContentType> {
  static get PROMETHEUS_CONTENT_TYPE(): PrometheusContentType {
    return PROMETHEUS_CONTENT_TYPE;
  }

  static get OPENMETRICS_CONTENT_TYPE(): OpenMetricsContentType {
    return OPENMETRICS_CONTENT_TYPE;
  }

  static get PROMETHEUS_PROTOBUF_CONTENT_TYPE(): PrometheusProtobufContentType {
    return PROMETHEUS_PROTOBUF_CONTENT_TYPE;
  }

  /** prom-client's `Registry.globalRegistry`: the default registry, `register`. */
  static get globalRegistry(): Registry {
    return register;
  }

  private readonly byName = new Map<string, RegistrableMetric>();
  /** Which metric of this registry exports each name (as "Counter jobs"). */
  private readonly exporters = new Map<string, string>();
  private defaultLabelSet: Record<string, string | number> = {};
  private format: ScrapeFormat;
  private readonly inflight = new Map<ScrapeFormat, Promise<string | Buffer>>();

  constructor(contentType: BoundContentType = PROMETHEUS_CONTENT_TYPE as BoundContentType) {
    this.format = formatOf(contentType, (message) => new ValidationError(message));
  }

  get contentType(): BoundContentType {
    return CONTENT_TYPES[this.format] as BoundContentType;
  }

  /**
   * Switches the content type; returns this registry, typed by the new one
   * (client_js PR #856's signature: metrics() of a protobuf registry
   * resolves with a Buffer).
   */
  setContentType<T extends ExpositionContentType>(contentType: T): Registry<T> {
    this.format = formatOf(contentType, (message) => new ValidationError(message));
    return this as unknown as Registry<T>;
  }

  /** Whether this registry serves every family of the directory, not only those registered in it. */
  protected servesWholeDirectory(): boolean {
    return false;
  }

  /**
   * For a registry serving the whole directory: the registries of this
   * process whose families it stands for (families registered only in
   * others are left out); undefined: every family, wherever registered.
   */
  protected standsFor(): readonly AnyRegistry[] | undefined {
    return undefined;
  }

  /** The families this process registered only in registries that standsFor() does not name. */
  private familiesServedElsewhere(): ReadonlySet<string> | undefined {
    const served = this.standsFor();
    if (!served) return undefined;
    const elsewhere = new Set<string>();
    for (const [family, registries] of registriesOfFamily) if (!served.some((registry) => registries.has(registry))) elsewhere.add(family);
    return elsewhere.size > 0 ? elsewhere : undefined;
  }

  /** The directory this registry merges, or undefined for in-process mode. */
  get dir(): string | undefined {
    return resolveDir();
  }

  protected naming(): Naming {
    return counterNaming();
  }

  protected merge(): DirectoryMerge {
    return (sharedMerge ??= new DirectoryMerge(configuredOptions().logger ?? consoleLogger, undefined, counterNaming()));
  }

  /** The metrics served in-process, in registration order. */
  protected inProcessMetrics(): RegistrableMetric[] {
    return [...this.byName.values()];
  }

  /** prom-client's registerMetric(): a second metric of one name is refused, and (ours) one that would export a name another exports. */
  registerMetric(metric: RegistrableMetric): void {
    const existing = this.byName.get(metric.name);
    if (existing === metric) return;
    if (existing) throw new ValidationError(`A metric with the name ${metric.name} has already been registered.`);
    let names: string[] = [];
    if (metric instanceof Metric) {
      if (metric.enableExemplars && this.format === 'prometheus') {
        throw new ValidationError(`Metric ${metric.name}: Exemplars are supported only on OpenMetrics registries`);
      }
      const title = `${metric.type[0].toUpperCase()}${metric.type.slice(1)} ${metric.name}`;
      names = exposedNames(metric.type, metric.family);
      for (const name of names) {
        const holder = this.exporters.get(name);
        if (holder !== undefined) throw new ValidationError(`${title}: the name ${name} is already exported by ${holder} in this registry`);
      }
      for (const name of names) this.exporters.set(name, title);
    }
    this.byName.set(metric.name, metric);
    if (metric instanceof Metric) {
      let families = registriesOfFamily.get(metric.family);
      if (!families) registriesOfFamily.set(metric.family, (families = new Set()));
      families.add(this as unknown as AnyRegistry);
    }
    let registries = membership.get(metric);
    if (!registries) membership.set(metric, (registries = new Set()));
    registries.add(this as unknown as AnyRegistry);
    if (metric instanceof Metric && metric.collect) watchCollect(metric); // again, if it had left every registry
  }

  getMetricsAsArray(): RegistrableMetric[] {
    return [...this.byName.values()];
  }

  getSingleMetric(name: string): RegistrableMetric | undefined {
    return this.byName.get(name);
  }

  removeSingleMetric(name: string): void {
    const metric = this.byName.get(name);
    if (metric) this.unregister(metric);
  }

  /** prom-client's clear(): no metrics, no default labels. */
  clear(): void {
    for (const metric of [...this.byName.values()]) this.unregister(metric);
    this.defaultLabelSet = {};
  }

  /**
   * Takes `metric` out. In multiprocess mode a metric of ours that is then
   * in no registry withdraws this process's series from the files (they
   * leave the merged view unless another process holds them), so a metric
   * of that name made again starts from 0, as in prom-client.
   */
  private unregister(metric: RegistrableMetric): void {
    this.byName.delete(metric.name);
    if (metric instanceof Metric) {
      for (const name of exposedNames(metric.type, metric.family)) this.exporters.delete(name);
      const families = registriesOfFamily.get(metric.family);
      // Another metric object of the family may still hold this registry (one per registry: byName is keyed by name).
      families?.delete(this as unknown as AnyRegistry);
      if (families?.size === 0) registriesOfFamily.delete(metric.family);
    }
    const registries = membership.get(metric);
    registries?.delete(this as unknown as AnyRegistry);
    if (metric instanceof Metric && registries?.size === 0 && this.dir) {
      metric.withdraw();
      unwatchCollect(metric); // or other processes' scrapes would run its collect() and bring its series back
    }
  }

  resetMetrics(): void {
    for (const metric of this.byName.values()) metric.reset?.();
  }

  setDefaultLabels(labels: Record<string, string | number>): void {
    if (labels === null || typeof labels !== 'object') throw new ValidationError('setDefaultLabels() needs an object of label names and values');
    this.defaultLabelSet = labels;
  }

  /** The exposition in this registry's content type: text, or (protobuf) a Buffer. */
  metrics(): Promise<RegistryMetrics<BoundContentType>> {
    const format = this.format;
    const dir = this.dir;
    if (!dir) return (format === 'protobuf' ? this.inProcessProtobuf() : this.inProcessText(format)) as Promise<RegistryMetrics<BoundContentType>>;
    // Scrapes of the directory at the same time share one result.
    let pending = this.inflight.get(format);
    if (!pending) {
      pending = format === 'protobuf' ? this.mergedProtobuf(dir) : this.mergedText(dir, format);
      const forget = (): void => void this.inflight.delete(format);
      pending.then(forget, forget);
      this.inflight.set(format, pending);
    }
    return pending as Promise<RegistryMetrics<BoundContentType>>;
  }

  /** One metric's lines (prom-client's getSingleMetricAsString); in multiprocess mode, its merged family. */
  async getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.byName.get(name);
    if (!metric) throw new ValidationError(`No metric named ${name} is registered`);
    const dir = this.dir;
    if (!dir || !(metric instanceof Metric)) {
      announceScrape(undefined);
      return this.getMetricsAsString(metric);
    }
    const text = textFormatOf(this.format);
    const parts = await this.scrape(dir, [metric], readsFor(text));
    return this.merge().render(parts, text, '').replace(/\n$/, '');
  }

  /** One metric's lines from its get() (or getForPromString()), as prom-client writes them. */
  async getMetricsAsString(metric: RegistrableMetric): Promise<string> {
    const snapshot = metric.getForPromString ? await metric.getForPromString() : await metric.get();
    return metricText(snapshot, { format: textFormatOf(this.format), defaultLabels: this.defaultLabelSet, pythonNaming: this.naming() === 'python' });
  }

  /** prom-client's getMetricsAsJSON(); in multiprocess mode, the merged families. */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    const dir = this.dir;
    if (!dir) {
      announceScrape(undefined); // this process's runtime metrics refresh first, as for metrics()
      const defaults = Object.entries(this.defaultLabelSet);
      const all = await Promise.all(this.inProcessMetrics().map((metric) => metric.get()));
      return all.map((item) => {
        if (item.values && defaults.length > 0) {
          for (const value of item.values) {
            const labels: Record<string, unknown> = { ...value.labels };
            for (const [name, fallback] of defaults) labels[name] = labels[name] || fallback;
            value.labels = labels;
          }
        }
        return item as unknown as MetricJSON;
      });
    }
    // JSON carries exemplars (prom-client's get() values do), not native buckets.
    const parts = await this.scrape(dir, this.ownMetrics(), { native: false, exemplars: true });
    // After the scrape: collect() callbacks may have made the series whose label types are looked up.
    const aggregators = new Map<string, string>();
    const typed = new Map<string, TypedLabelValues>();
    const typedDefaults = typedValues([this.defaultLabelSet]);
    for (const metric of this.byName.values()) {
      if (!(metric instanceof Metric)) continue;
      aggregators.set(metric.family, metric.aggregator);
      typed.set(metric.family, typedValues(metric.snapshot().values.map((v) => v.labels ?? {}), typedDefaults));
    }
    return parts.map((part) => {
      const family = part.toFamily();
      const named = family.type === 'histogram' || family.type === 'summary';
      const types = typed.get(family.name) ?? typedDefaults;
      return {
        name: exposedFamilyName(family.name, family.type, 'prometheus', family.bare),
        help: family.help,
        type: family.type,
        aggregator: aggregators.get(family.name) ?? 'sum',
        values: family.samples.map((s) => {
          const labels = jsonLabels(s.labels, family.type, types);
          const value = named ? { value: s.value, labels, metricName: s.name } : { value: s.value, labels };
          // prom-client's Exemplar object, on the values that have one.
          return s.exemplar ? { ...value, exemplar: { labelSet: s.exemplar.labels, value: s.exemplar.value, timestamp: s.exemplar.timestamp } } : value;
        }),
      };
    });
  }

  /** prom-client's Registry.merge(): one registry holding the metrics of all of `registries` (which must share a content type). */
  static merge<T extends ExpositionContentType>(registries: Registry<T>[]): Registry<T> {
    const contentType = registries[0].contentType;
    if (registries.some((r) => r.contentType !== contentType)) throw new ValidationError('Registers can only be merged if they have the same content type');
    const merged = new Registry<T>(contentType);
    for (const registry of registries) for (const metric of registry.getMetricsAsArray()) merged.registerMetric(metric);
    return merged;
  }

  private ownMetrics(): RegistrableMetric[] | undefined {
    return this.servesWholeDirectory() ? undefined : [...this.byName.values()];
  }

  private async inProcessText(format: ExpositionFormat): Promise<string> {
    announceScrape(undefined);
    const texts = await Promise.all(this.inProcessMetrics().map((metric) => this.getMetricsAsString(metric)));
    return joinMetricTexts(texts, format);
  }

  /** In-process protobuf: each metric's get(), with the default labels, as prom-client's text would show it. */
  private async inProcessProtobuf(): Promise<Buffer> {
    announceScrape(undefined);
    const pythonNaming = this.naming() === 'python';
    const defaults: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.defaultLabelSet)) defaults[name] = String(value);
    const labelled = Object.keys(defaults).length > 0;
    const families = await Promise.all(
      this.inProcessMetrics().map(async (metric) => {
        let family = familyOfSnapshot(await metric.get(), true);
        // Python's naming: a counter's name always ends in _total, as the text shows it.
        if (pythonNaming && family.bare) family = { ...family, bare: false };
        return labelled ? familyWithDefaults(family, defaults) : family;
      }),
    );
    return protobufExposition(families);
  }

  private async mergedText(dir: string, format: ExpositionFormat): Promise<string> {
    const parts = await this.scrape(dir, this.ownMetrics(), readsFor(format));
    return this.merge().render(parts, format, endOfExposition(format));
  }

  private async mergedProtobuf(dir: string): Promise<Buffer> {
    const parts = await this.scrape(dir, this.ownMetrics());
    return protobufExposition(parts.map((part) => part.toFamily()));
  }

  /**
   * Families other than the files' to serve beside them: metric objects
   * that are not ours, ours that stay in this process (a gauge with
   * aggregator `omit`: served by the registries it joined, as prom-client's
   * worker registries serve it, and by no cluster view), and
   * (MultiprocessRegistry) prom-client registries.
   */
  protected async besideFamilies(metrics: readonly RegistrableMetric[]): Promise<Family[]> {
    const foreign = metrics.filter((metric) => !(metric instanceof Metric));
    const families = await Promise.all(foreign.map(async (metric) => familyOfSnapshot(await metric.get())));
    // Their collect() has run already, with every other metric's (scrape()).
    for (const metric of metrics) if (metric instanceof Metric && metric.inProcessOnly) families.push(familyOfSnapshot(metric.snapshot()));
    return families;
  }

  /**
   * A scrape of the directory: this process's collect() callbacks run first
   * (the other writers are asked for theirs through the directory), then
   * the families of `metrics` (all of the directory's when undefined) are read.
   */
  protected async scrape(dir: string, metrics: RegistrableMetric[] | undefined, reads: SidecarReads = READ_ALL): Promise<Part[]> {
    const trigger = announceScrape(dir);
    const merge = this.merge();
    if (trigger) merge.report(trigger.file, trigger.message);
    const local = metrics ?? [...register.getMetricsAsArray(), ...this.byName.values()];
    for (const metric of local) {
      if (!(metric instanceof Metric) || !metric.collect) continue;
      try {
        await metric.runCollect();
      } catch (err) {
        merge.report(`collect() of metric ${metric.name}`, `failed: ${(err as Error)?.message ?? String(err)}; its values are served as they were`);
      }
    }
    const beside = await this.besideFamilies(metrics ?? [...this.byName.values()]);
    const inFiles = (m: RegistrableMetric): m is Metric => m instanceof Metric && !m.inProcessOnly;
    const families = metrics && new Set(metrics.flatMap((m) => (inFiles(m) ? [m.family] : [])));
    const defaults: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.defaultLabelSet)) defaults[name] = String(value);
    // Everything from here on is synchronous: the parts render from the merge's state.
    const declared = (metrics ?? [...this.byName.values()]).flatMap((m) =>
      inFiles(m) ? [{ name: m.family, type: m.type, help: m.help, bare: m.type === 'counter' && m.family === m.name }] : [],
    );
    return merge.scrape(dir, { families, excluded: metrics ? undefined : this.familiesServedElsewhere(), declared, beside, defaultLabels: defaults, reads });
  }
}

/** What a text exposition reads beside the `.db` files: no native buckets (protobuf alone carries them), exemplars in OpenMetrics. */
function readsFor(format: ExpositionFormat): SidecarReads {
  return { native: false, exemplars: format === 'openmetrics' };
}

/** Label values that this process gave as numbers, per label name, by their text: files hold text only. */
type TypedLabelValues = Map<string, Map<string, string | number>>;

/** The label values of `labelSets` given as numbers, added to a copy of `base`. */
function typedValues(labelSets: ReadonlyArray<Partial<Record<string, string | number>>>, base?: TypedLabelValues): TypedLabelValues {
  const types: TypedLabelValues = new Map([...(base ?? [])].map(([name, byText]) => [name, new Map(byText)]));
  for (const labels of labelSets) {
    for (const [name, value] of Object.entries(labels)) {
      if (typeof value !== 'number') continue;
      let byText = types.get(name);
      if (!byText) types.set(name, (byText = new Map()));
      byText.set(String(value), value);
    }
  }
  return types;
}

/**
 * A merged series' labels as prom-client's getMetricsAsJSON() types them:
 * a histogram bucket's `le` a number (`+Inf` a string), and a value this
 * process gave as a number for that label a number again.
 */
function jsonLabels(labels: Record<string, string>, type: MetricType, types: TypedLabelValues | undefined): Record<string, string | number> {
  if (type !== 'histogram' && (!types || types.size === 0)) return labels;
  const out: Record<string, string | number> = { ...labels };
  if (type === 'histogram' && labels.le !== undefined && labels.le !== '+Inf') out.le = Number(labels.le);
  if (types) for (const [name, byText] of types) if (labels[name] !== undefined && byText.has(labels[name])) out[name] = byText.get(labels[name])!;
  return out;
}

/** The registry every metric joins unless its `registers` say otherwise; with a directory, it serves all of it. */
class DefaultRegistry extends Registry {
  protected override servesWholeDirectory(): boolean {
    return true;
  }

  protected override standsFor(): readonly AnyRegistry[] {
    return [this as unknown as AnyRegistry];
  }
}

export const register: Registry = new DefaultRegistry();
installDefaultRegistry(register);
