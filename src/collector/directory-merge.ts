import type { Naming } from '../storage/config.js';
import { consoleLogger, printableLogger, type Logger } from '../log.js';
import { compareText, type MetricType } from '../format/names.js';
import { DirectoryScan, type SidecarReads } from './directory-scan.js';
import { familyHeader, familyWithDefaults, renderFamily, type ExpositionFormat } from './exposition.js';
import type { Family } from './family.js';
import { IncrementalCollector } from './incremental.js';
import { plainPart, servedBeside, type Part } from './registry-bridge.js';
import { TextWriter } from './text-writer.js';

/**
 * One process's merge of a multiprocess directory, kept between scrapes (it
 * remembers what it parsed, so a scrape parses only new entries): what the
 * registries serving the directory (register, custom registries,
 * MultiprocessRegistry) have in common.
 */

/** The family the collector exports about itself. */
export const SKIPPED_FILES_FAMILY = 'prom_multiproc_skipped_files';
const SKIPPED_FILES_TYPE = 'counter';

const MAX_REMEMBERED_PROBLEMS = 10000;
export const DEFAULT_COMPACT_THRESHOLD = 4;

/** Which part of the directory a scrape serves, and what comes with it. */
export interface MergeSelection {
  /** The families to serve, by name; undefined: all of them, and the collector's own counter. */
  families?: ReadonlySet<string>;
  /** Families left out of all of them (registered in this process only in registries that are served elsewhere). */
  excluded?: ReadonlySet<string>;
  /**
   * The families of the registry's own metric objects: one that no file
   * holds a series of yet is served as its HELP and TYPE lines alone, as
   * prom-client serves a labelled metric before its first series.
   */
  declared?: readonly DeclaredFamily[];
  /** Families from elsewhere served beside the files' (metric objects that are not ours, prom-client registries). */
  beside: readonly Family[];
  /** Labels added to every series that lacks them (a registry's default labels). */
  defaultLabels?: Readonly<Record<string, string>>;
  /** Which files beside the `.db` ones to read (directory-scan.ts); default all. */
  reads?: SidecarReads;
}

export interface DeclaredFamily {
  name: string;
  type: MetricType;
  help: string;
  /** A counter declared without `_total` (named `jobs` in the text format). */
  bare: boolean;
}

export class DirectoryMerge {
  readonly logger: Logger;
  private readonly reported = new Set<string>();
  private readonly collector: IncrementalCollector;
  private readonly writer = new TextWriter();
  private readonly scan: DirectoryScan;
  private skippedFiles = 0;
  private readonly promClientText: boolean;

  /**
   * `naming`: how counters are named (configure()'s `naming`). `writtenAs`:
   * `prom-client` writes the exposition as prom-client does (numbers and
   * bounds as JavaScript prints them, a blank line between families in the
   * text format, the collector's own counter only once a file was skipped):
   * the registries of prom-client's API. `python` writes it as Python's
   * client does, the collector's counter always there: MultiprocessRegistry,
   * the CLI and the exporter, and every registry under Python's naming.
   */
  constructor(
    logger: Logger = consoleLogger,
    compactThreshold = DEFAULT_COMPACT_THRESHOLD,
    readonly naming: Naming = 'prom-client',
    writtenAs: 'prom-client' | 'python' = 'prom-client',
  ) {
    this.promClientText = naming === 'prom-client' && writtenAs === 'prom-client';
    const numbers = this.promClientText ? 'javascript' : 'python';
    // The collector's own family keeps its names: a file's family that would expose one of them is ignored.
    this.collector = new IncrementalCollector([{ name: SKIPPED_FILES_FAMILY, type: SKIPPED_FILES_TYPE }], numbers);
    this.writer.numbers = numbers;
    // Messages name files of the directory, whose names its writers choose.
    this.logger = printableLogger(logger);
    this.scan = new DirectoryScan(this.collector, this.logger, (subject, message) => this.report(subject, message), compactThreshold);
  }

  /**
   * Reads the directory and returns the families of this scrape, sorted.
   * Synchronous: parts render from the collector's state, so they must be
   * used before another scrape changes it.
   */
  scrape(dir: string, selection: MergeSelection): Part[] {
    this.skippedFiles += this.scan.add(dir, selection.reads);
    const pythonNaming = this.naming === 'python';
    const defaults = selection.defaultLabels && Object.keys(selection.defaultLabels).length > 0 ? selection.defaultLabels : undefined;
    const { families, excluded } = selection;
    const names = this.collector.familyNames().filter((name) => (!families || families.has(name)) && !excluded?.has(name));
    const parts: Part[] = names.map((name) => {
      const family = this.collector.family(name)!;
      const bare = family.bareCounter && !pythonNaming;
      if (defaults) {
        return {
          name,
          render: (format, out) => renderFamily(this.collector.toFamily(family, bare), format, out, defaults),
          toFamily: () => familyWithDefaults(this.collector.toFamily(family, bare), defaults),
        };
      }
      return {
        name,
        render: (format, out) => {
          const bareNames = bare && format === 'prometheus';
          out.text(familyHeader(family.name, family.type, family.help, format, bareNames));
          this.collector.renderSamples(family, out, bareNames, format);
        },
        toFamily: () => this.collector.toFamily(family, bare),
      };
    });
    const present = new Set(names);
    for (const declared of selection.declared ?? []) {
      if (present.has(declared.name) || excluded?.has(declared.name)) continue;
      present.add(declared.name);
      const { name, type, help } = declared;
      const bare = declared.bare && !pythonNaming;
      parts.push({
        name,
        render: (format, out) => out.text(familyHeader(name, type, help, format, bare && format === 'prometheus')),
        toFamily: () => ({ name, type, help, samples: [], ...(bare ? { bare } : {}) }),
      });
    }
    const beside = pythonNaming ? selection.beside.map(pythonNamed) : selection.beside;
    parts.push(...servedBeside(this.collector, beside, { defaultLabels: defaults, asPromClient: this.promClientText }, (subject, message) => this.report(subject, message)));
    // Written as prom-client: served once a file was skipped, so that until then the exposition is exactly the writers' metrics.
    if (!selection.families && (this.skippedFiles > 0 || !this.promClientText)) parts.push(plainPart(this.skippedFilesFamily()));
    return parts.sort((a, b) => compareText(a.name, b.name));
  }

  /** The exposition of `parts`, in one buffer, written as the naming says (constructor). */
  render(parts: readonly Part[], format: ExpositionFormat, end: string): string {
    const writer = this.writer;
    const promClient = this.promClientText;
    writer.reserve(this.collector.renderedSizeBound() + parts.length);
    parts.forEach((part, i) => {
      if (promClient && format === 'prometheus' && i > 0) writer.text('\n');
      part.render(format, writer);
    });
    writer.text(end);
    return writer.take();
  }

  private skippedFilesFamily(): Family {
    return {
      name: SKIPPED_FILES_FAMILY,
      type: SKIPPED_FILES_TYPE,
      help: 'Multiprocess files the collector could not read and skipped, counted at every scrape that skipped them.',
      samples: [{ name: `${SKIPPED_FILES_FAMILY}_total`, labels: {}, value: this.skippedFiles }],
    };
  }

  /** Closes the files kept open between scrapes. */
  close(): void {
    this.scan.close();
  }

  report(subject: string, message: string): void {
    const key = `${subject}\u0000${message}`;
    if (this.reported.has(key)) return;
    if (this.reported.size >= MAX_REMEMBERED_PROBLEMS) this.reported.clear();
    this.reported.add(key);
    this.logger.warn(`${subject}: ${message}`);
  }
}

/** A family served beside the files under Python's naming: a bare counter's samples are `<family>_total` too. */
function pythonNamed(family: Family): Family {
  if (!family.bare) return family;
  const { bare: _bare, ...named } = family;
  return { ...named, samples: family.samples.map((s) => ({ ...s, name: `${family.name}_total` })) };
}
