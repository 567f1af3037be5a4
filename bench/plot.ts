// Draws bench/results/scrape-latency.svg from scrape-latest.json: warm p50
// scrape latency (log scale) against the number of writer processes, one line
// per system and series count. Hand-written SVG, no dependency.
//
//   node --import tsx bench/plot.ts [--input FILE] [--output FILE]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { RESULTS_DIR, describeMachine } from './lib/results.js';
import { formatMs } from './lib/stats.js';
import type { ScrapeResults, System } from './scrape.js';

const WIDTH = 960;
const HEIGHT = 600;
const PLOT = { left: 90, right: 700, top: 80, bottom: 520 };

const COLORS: Record<System, string> = {
  ours: '#1b7f5f',
  'promclient-cluster': '#d95f02',
  'promclient-single': '#7570b3',
  python: '#c2185b',
};
const LABELS: Record<System, string> = {
  ours: 'prom-multiproc (this library)',
  'promclient-cluster': 'prom-client cluster aggregation',
  'promclient-single': 'prom-client, one process',
  python: 'Python MultiProcessCollector',
};
const DASHES = ['', '8 5', '2 4', '12 4 2 4'];

interface Line {
  system: System;
  series: number;
  points: Array<{ workers: number; ms: number }>;
}

function decadeLabel(decade: number): string {
  if (decade >= 3) return `${10 ** (decade - 3)} s`;
  return `${decade >= 0 ? String(10 ** decade) : (10 ** decade).toFixed(-decade)} ms`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function linesOf(results: ScrapeResults): Line[] {
  const lines: Line[] = [];
  const systems: System[] = ['ours', 'promclient-cluster', 'python', 'promclient-single'];
  for (const system of systems) {
    for (const series of results.options.series) {
      const points: Line['points'] = [];
      for (const workers of results.options.workers) {
        const run = results.runs.find(
          (r) => r.system === system && r.series === series && (system === 'promclient-single' || r.workers === workers) && r.status === 'ok',
        );
        if (run?.stats && Number.isFinite(run.stats.warmP50Ms) && run.stats.warmP50Ms > 0) points.push({ workers, ms: run.stats.warmP50Ms });
      }
      if (points.length > 0) lines.push({ system, series, points });
    }
  }
  return lines;
}

export function renderSvg(results: ScrapeResults): string {
  const lines = linesOf(results);
  const allMs = lines.flatMap((l) => l.points.map((p) => p.ms));
  const workers = [...results.options.workers].sort((a, b) => a - b);
  const minDecade = Math.floor(Math.log10(Math.min(...allMs, 1)));
  const maxDecade = Math.ceil(Math.log10(Math.max(...allMs, 10)));
  const minX = Math.log2(workers[0]);
  const maxX = Math.log2(workers[workers.length - 1]);
  const spanX = maxX - minX || 1;
  const x = (w: number): number => PLOT.left + 30 + ((Math.log2(w) - minX) / spanX) * (PLOT.right - PLOT.left - 60);
  const y = (ms: number): number => PLOT.bottom - ((Math.log10(ms) - minDecade) / (maxDecade - minDecade)) * (PLOT.bottom - PLOT.top);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${WIDTH / 2}" y="28" text-anchor="middle" font-size="18" font-weight="bold">Warm scrape latency (median) against writer processes</text>`);
  out.push(
    `<text x="${WIDTH / 2}" y="50" text-anchor="middle" font-size="12" fill="#444">${escapeXml(
      `${describeMachine(results.machine)}; ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    )}</text>`,
  );

  // Grid: a line per decade, light ticks at 2 and 5.
  for (let d = minDecade; d <= maxDecade; d++) {
    const value = 10 ** d;
    out.push(`<line x1="${PLOT.left}" y1="${y(value)}" x2="${PLOT.right}" y2="${y(value)}" stroke="#cccccc"/>`);
    out.push(`<text x="${PLOT.left - 8}" y="${y(value) + 4}" text-anchor="end" font-size="12">${decadeLabel(d)}</text>`);
    if (d < maxDecade) {
      for (const m of [2, 5]) {
        out.push(`<line x1="${PLOT.left}" y1="${y(m * value)}" x2="${PLOT.right}" y2="${y(m * value)}" stroke="#eeeeee"/>`);
      }
    }
  }
  for (const w of workers) {
    out.push(`<line x1="${x(w)}" y1="${PLOT.top}" x2="${x(w)}" y2="${PLOT.bottom}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x(w)}" y="${PLOT.bottom + 20}" text-anchor="middle" font-size="12">${w}</text>`);
  }
  out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333333"/>`);
  out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 45}" text-anchor="middle" font-size="14">writer processes W (log scale)</text>`);
  out.push(
    `<text x="24" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle" font-size="14" transform="rotate(-90 24 ${(PLOT.top + PLOT.bottom) / 2})">warm scrape p50 (log scale)</text>`,
  );

  // prom-client's clusterMetrics() gives up after a fixed 5 s: slower scrapes fail in a real deployment.
  if (results.options.systems.includes('promclient-cluster') && Math.log10(5000) <= maxDecade) {
    out.push(`<line x1="${PLOT.left}" y1="${y(5000)}" x2="${PLOT.right}" y2="${y(5000)}" stroke="#d95f02" stroke-width="1" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${PLOT.left + 6}" y="${y(5000) - 5}" font-size="11" fill="#d95f02">prom-client clusterMetrics() time-out (5 s)</text>`);
  }

  const seriesIndex = new Map(results.options.series.map((s, i) => [s, i]));
  for (const line of lines) {
    const color = COLORS[line.system];
    const dash = DASHES[(seriesIndex.get(line.series) ?? 0) % DASHES.length];
    const d = line.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.workers).toFixed(1)},${y(p.ms).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    for (const p of line.points) {
      out.push(`<circle cx="${x(p.workers).toFixed(1)}" cy="${y(p.ms).toFixed(1)}" r="4" fill="${color}"><title>${escapeXml(`${line.system} W=${p.workers} S=${line.series}: ${formatMs(p.ms)} ms`)}</title></circle>`);
    }
  }

  // Legend, right of the plot.
  let ly = PLOT.top + 10;
  out.push(`<text x="${PLOT.right + 20}" y="${ly}" font-size="13" font-weight="bold">system, series per writer</text>`);
  ly += 22;
  for (const line of lines) {
    const dash = DASHES[(seriesIndex.get(line.series) ?? 0) % DASHES.length];
    out.push(
      `<line x1="${PLOT.right + 20}" y1="${ly - 4}" x2="${PLOT.right + 56}" y2="${ly - 4}" stroke="${COLORS[line.system]}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    out.push(`<text x="${PLOT.right + 62}" y="${ly}" font-size="11">${escapeXml(`${LABELS[line.system]}`)}</text>`);
    out.push(`<text x="${PLOT.right + 62}" y="${ly + 13}" font-size="11" fill="#555">${escapeXml(`S = ${line.series.toLocaleString('en-US')}`)}</text>`);
    ly += 34;
  }
  const notes: string[] = [];
  if (results.options.systems.includes('promclient-single')) notes.push('prom-client one process: measured once per S, drawn flat.');
  if (results.options.systems.includes('python') && results.python.status !== 'ok') notes.push('Python: skipped (BENCH_PYTHON not set or unusable).');
  else if (results.python.status === 'ok') {
    // Results written before the version was recorded were all Debian's 0.16.
    const version = results.python.version ?? (results.python.legacyLayout ? '0.16' : 'of unknown version');
    notes.push(`Python: prometheus_client ${version}${results.python.legacyLayout ? ' on a copy of the directory in its layout' : ''}.`);
  }
  const failed = results.runs.filter((r) => r.status === 'failed');
  if (failed.length) notes.push(`Failed, not drawn: ${failed.map((r) => `${r.system} W=${r.workers} S=${r.series}`).join('; ')}.`);
  for (const note of notes) {
    ly += 4;
    for (const part of wrap(note, 38)) {
      out.push(`<text x="${PLOT.right + 20}" y="${ly}" font-size="11" fill="#555">${escapeXml(part)}</text>`);
      ly += 14;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(current);
  return lines;
}

export function plotScrapeResults(argv: string[]): string {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string', default: path.join(RESULTS_DIR, 'scrape-latest.json') },
      output: { type: 'string', default: path.join(RESULTS_DIR, 'scrape-latency.svg') },
    },
  });
  const results = JSON.parse(fs.readFileSync(values.input!, 'utf8')) as ScrapeResults;
  const svg = renderSvg(results);
  fs.writeFileSync(values.output!, svg);
  console.log(`plot: ${path.relative(process.cwd(), values.output!)} (${linesOf(results).length} lines from ${path.relative(process.cwd(), values.input!)})`);
  return values.output!;
}

if (require.main === module) {
  try {
    plotScrapeResults(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).stack ?? String(err));
    process.exit(1);
  }
}
