import { EXEMPLAR_PAYLOAD_BYTES, exemplarTimestamp, readExemplar, type StoredExemplar } from '../format/exemplar-record.js';
import { decodeExemplarEntryKey } from '../format/key.js';
import { checkedUsed, HEADER_SIZE, newRawEntry, readEntry } from '../format/layout.js';
import type { SeriesTable } from './series-table.js';
import type { SourceImage } from './source-state.js';

/** What is remembered of one `.exdb` file between scrapes: its entries never move, and their keys never change. */
interface ExemplarSource {
  identity: string;
  parsedUpTo: number;
  /** Per entry: the byte offset of its payload, and its series (-1 until a file of the scrape has made the series). */
  payloads: number[];
  series: number[];
  /** Per entry, its decoded key, kept to find its series once one exists. */
  keys: Array<Parameters<SeriesTable['find']>[0]>;
}

/**
 * The collector's side of exemplars: per series, the latest exemplar over
 * the `.exdb` files of a scrape (live, dead and accumulated alike), by
 * timestamp; on a tie the file read first. An exemplar attaches to a series
 * that the metrics files made (it never makes one), so a series a scrape
 * leaves out (withdrawn, a type clash) shows none. Each file's keys are
 * decoded once; its payloads are read at every scrape, and one whose copies
 * do not check out (torn by a write during the read, or damaged) is passed
 * over: the exemplar before it, or none.
 */
export class ExemplarTable {
  private readonly sources = new Map<string, ExemplarSource>();
  private readonly latest = new Map<number, StoredExemplar>();
  private readonly latestAt = new Map<number, number>();
  private readonly entry = newRawEntry();

  constructor(private readonly table: SeriesTable) {}

  begin(): void {
    this.latest.clear();
    this.latestAt.clear();
  }

  /** Reads an `.exdb` file's exemplars into this scrape. Throws FileFormatError (forgetting the file) when its entries or keys are bad. */
  add(image: SourceImage): void {
    let source = this.sources.get(image.name);
    if (!source || source.identity !== image.identity || image.used < source.parsedUpTo) {
      source = { identity: image.identity, parsedUpTo: HEADER_SIZE, payloads: [], series: [], keys: [] };
      this.sources.set(image.name, source);
    }
    const { buf } = image;
    try {
      const used = checkedUsed(buf, image.used);
      for (let pos = source.parsedUpTo; pos < used; ) {
        pos = readEntry(buf, pos, used, this.entry, EXEMPLAR_PAYLOAD_BYTES);
        const { keyStart, keyEnd, offset, valueOffset } = this.entry;
        const key = decodeExemplarEntryKey(buf, keyStart, keyEnd, offset, image.type);
        source.keys.push(key);
        source.payloads.push(valueOffset);
        source.series.push(-1);
        source.parsedUpTo = pos;
      }
    } catch (err) {
      this.sources.delete(image.name);
      throw err;
    }
    for (let i = 0; i < source.payloads.length; i++) {
      if (source.series[i] < 0) source.series[i] = this.table.find(source.keys[i], image.type);
      const series = source.series[i];
      if (series < 0) continue;
      const timestamp = exemplarTimestamp(buf, source.payloads[i]);
      if (timestamp === undefined || timestamp <= (this.latestAt.get(series) ?? -Infinity)) continue;
      const exemplar = readExemplar(buf, source.payloads[i]);
      if (!exemplar) continue;
      this.latest.set(series, exemplar);
      this.latestAt.set(series, exemplar.timestamp);
    }
  }

  /** Forgets files not added since begin() with these names kept. */
  retainSources(names: ReadonlySet<string>): void {
    for (const name of this.sources.keys()) if (!names.has(name)) this.sources.delete(name);
  }

  /** The latest exemplar of `series` in this scrape. */
  of(series: number): StoredExemplar | undefined {
    return this.latest.get(series);
  }

  /** How many series have an exemplar in this scrape. */
  get size(): number {
    return this.latest.size;
  }
}
