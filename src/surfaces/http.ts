import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import type * as Zlib from 'node:zlib';

/**
 * The HTTP side of every surface (metricsHandler, the Fastify plugin, the
 * exporter, the request middleware): reading Accept and Accept-Encoding,
 * the request path, and the responses, built whole before they are written.
 */

let gzipAsync: ((body: Buffer) => Promise<Buffer>) | undefined;

/** zlib's gzip, loaded at the first gzipped response (node:zlib costs a process that serves nothing 2 ms at start). */
function gzip(body: Buffer): Promise<Buffer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  gzipAsync ??= promisify((require('node:zlib') as typeof Zlib).gzip);
  return gzipAsync(body);
}

/** A finished response, before it is written to a framework's reply. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | number>;
  body: Buffer;
}

const TEXT_PLAIN = 'text/plain; charset=utf-8';

interface MediaRange {
  name: string;
  q: number;
  /** Parameters other than q, names lower-cased. */
  params: Record<string, string>;
}

/** `a;q=0.5, b` as names (lower-cased) with their quality and parameters; ranges with an unreadable q count as q=0. */
function parseQualityList(header: string | string[] | undefined): MediaRange[] {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return [];
  return text.split(',').map((part) => {
    const [name, ...rest] = part.split(';');
    let q = 1;
    const params: Record<string, string> = {};
    for (const param of rest) {
      const equals = param.indexOf('=');
      const key = (equals < 0 ? param : param.slice(0, equals)).trim().toLowerCase();
      const value = equals < 0 ? '' : param.slice(equals + 1).trim().replace(/^"(.*)"$/, '$1');
      if (key === 'q') q = Number(value);
      else params[key] = value;
    }
    return { name: name.trim().toLowerCase(), q: Number.isFinite(q) ? q : 0, params };
  });
}

/** The formats a metrics endpoint serves: the text format 0.0.4, OpenMetrics, Prometheus' delimited protobuf. */
export type NegotiatedFormat = 'prometheus' | 'openmetrics' | 'protobuf';

/** Whether a range names the protobuf exposition we write: MetricFamily messages, delimited (either parameter may be left out). */
function isDelimitedMetricFamilies(range: MediaRange): boolean {
  const { proto, encoding } = range.params;
  return (proto === undefined || proto === 'io.prometheus.client.MetricFamily') && (encoding === undefined || encoding === 'delimited');
}

/**
 * The format to answer `accept` with: the one the client likes best (the
 * highest q), a tie going to the richer format (protobuf, then OpenMetrics,
 * then text), as Prometheus lists them in that order. Protobuf only when the
 * client names it (`application/vnd.google.protobuf` for delimited
 * io.prometheus.client.MetricFamily messages, as Prometheus with native
 * histograms on asks first) and `protobuf` says the source can write it;
 * OpenMetrics only when named; text for everything else, a bare `*\/*` or
 * no header included. A range with q=0 is refused.
 */
export function negotiateFormat(accept: string | string[] | undefined, options: { protobuf: boolean }): NegotiatedFormat {
  let protobuf = 0;
  let openMetrics = 0;
  let text = 0;
  for (const range of parseQualityList(accept)) {
    const { name, q } = range;
    if (name === 'application/vnd.google.protobuf') {
      if (options.protobuf && isDelimitedMetricFamilies(range)) protobuf = Math.max(protobuf, q);
    } else if (name === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (name === 'text/plain' || name === 'text/*' || name === '*/*') text = Math.max(text, q);
  }
  if (protobuf > 0 && protobuf >= openMetrics && protobuf >= text) return 'protobuf';
  if (openMetrics > 0 && openMetrics >= text) return 'openmetrics';
  return 'prometheus';
}

/** gzip unless the client does not list it (or `*`), or refuses it with q=0. */
function acceptsGzip(acceptEncoding: string | string[] | undefined): boolean {
  let gzipQuality: number | undefined;
  let anyQuality: number | undefined;
  for (const { name, q } of parseQualityList(acceptEncoding)) {
    if (name === 'gzip' || name === 'x-gzip') gzipQuality = Math.max(gzipQuality ?? 0, q);
    else if (name === '*') anyQuality = q;
  }
  return (gzipQuality ?? anyQuality ?? 0) > 0;
}

/** The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Whether a read-only endpoint serves this method (GET, and HEAD without a body). */
export function isReadMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD';
}

export function plainResponse(status: number, message: string, extra: Record<string, string> = {}): HttpResponse {
  const body = Buffer.from(`${message}\n`);
  return { status, headers: { 'Content-Type': TEXT_PLAIN, 'Content-Length': body.length, ...extra }, body };
}

/** The 405 of a read-only endpoint. */
export function methodNotAllowed(extra: Record<string, string> = {}): HttpResponse {
  return plainResponse(405, 'Method Not Allowed: use GET', { Allow: 'GET, HEAD', ...extra });
}

/** An exposition (text, or protobuf bytes) as a response: never cached, gzipped when `acceptEncoding` allows. */
export async function expositionResponse(exposition: string | Uint8Array, contentType: string, acceptEncoding: string | string[] | undefined): Promise<HttpResponse> {
  let body: Buffer = typeof exposition === 'string' ? Buffer.from(exposition, 'utf8') : Buffer.isBuffer(exposition) ? exposition : Buffer.from(exposition);
  const headers: Record<string, string | number> = {
    'Content-Type': contentType,
    'Cache-Control': 'no-store',
    Vary: 'Accept, Accept-Encoding',
  };
  if (acceptsGzip(acceptEncoding)) {
    body = await gzip(body);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = body.length;
  return { status: 200, headers, body };
}

export function writeResponse(req: IncomingMessage, res: ServerResponse, response: HttpResponse): void {
  // The client may have gone while we scraped: nothing to answer then.
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  res.writeHead(response.status, response.headers);
  res.end(req.method === 'HEAD' ? undefined : response.body);
}
