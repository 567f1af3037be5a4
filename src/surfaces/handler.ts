import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { RegistryContentType } from 'prom-client';
import { MultiprocessRegistry, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from '../collector/registry.js';
import { consoleLogger, type Logger } from '../log.js';
import type { FastifyInstanceLike, FastifyPluginLike } from './fastify-types.js';

const gzip = promisify(zlib.gzip);

/**
 * What a handler serves: a MultiprocessRegistry, or anything with the same
 * metrics()/contentType methods (a prom-client Registry).
 */
export interface MetricsSource {
  readonly contentType: string;
  setContentType(contentType: RegistryContentType): void;
  metrics(): Promise<string>;
}

export interface MetricsHandlerOptions {
  /** Where failed scrapes are reported; default console.warn. */
  logger?: Logger;
}

/** A finished /metrics response, before it is written to a framework's reply. */
interface MetricsResponse {
  status: number;
  headers: Record<string, string | number>;
  body: Buffer;
}

const TEXT_PLAIN = 'text/plain; charset=utf-8';

interface MediaRange {
  name: string;
  q: number;
}

/** `a;q=0.5, b` as names (lower-cased) with their quality; ranges with an unreadable q count as q=0. */
function parseQualityList(header: string | string[] | undefined): MediaRange[] {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return [];
  return text.split(',').map((part) => {
    const [name, ...params] = part.split(';');
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=');
      if (key.trim().toLowerCase() === 'q') q = Number(value?.trim());
    }
    return { name: name.trim().toLowerCase(), q: Number.isFinite(q) ? q : 0 };
  });
}

/**
 * OpenMetrics only when the client names it and likes it at least as much as
 * the text format (Prometheus asks for OpenMetrics first, text with q=0.5);
 * anything else, a bare `*\/*` included, gets the text format 0.0.4.
 */
function wantsOpenMetrics(accept: string | string[] | undefined): boolean {
  let openMetrics = 0;
  let text = 0;
  for (const { name, q } of parseQualityList(accept)) {
    if (name === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (name === 'text/plain' || name === 'text/*' || name === '*/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text;
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

/**
 * The exposition in `contentType`. The source's own content type is switched
 * only around the synchronous start of metrics(), where both our registry and
 * prom-client's read it, so concurrent scrapes in both formats never mix.
 */
function metricsIn(source: MetricsSource, contentType: RegistryContentType): Promise<string> {
  const previous = source.contentType as RegistryContentType;
  if (previous === contentType) return source.metrics();
  source.setContentType(contentType);
  try {
    return source.metrics();
  } finally {
    source.setContentType(previous);
  }
}

export function plainResponse(status: number, message: string, extra: Record<string, string> = {}): MetricsResponse {
  const body = Buffer.from(`${message}\n`);
  return { status, headers: { 'Content-Type': TEXT_PLAIN, 'Content-Length': body.length, ...extra }, body };
}

/**
 * Scrapes `source` for one request: content negotiation, gzip, and a 500
 * with a short body (details go to the logger) when the scrape fails.
 * Never rejects.
 */
async function buildMetricsResponse(
  source: MetricsSource,
  request: { method?: string; headers: IncomingHttpHeaders },
  logger: Logger = consoleLogger,
): Promise<MetricsResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return plainResponse(405, 'Method Not Allowed: use GET', { Allow: 'GET, HEAD' });
  }
  const contentType = wantsOpenMetrics(request.headers.accept) ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  try {
    let body = Buffer.from(await metricsIn(source, contentType), 'utf8');
    const headers: Record<string, string | number> = {
      'Content-Type': contentType,
      'Cache-Control': 'no-store',
      Vary: 'Accept, Accept-Encoding',
    };
    if (acceptsGzip(request.headers['accept-encoding'])) {
      body = await gzip(body);
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = body.length;
    return { status: 200, headers, body };
  } catch (err) {
    logger.warn(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}`);
    return plainResponse(500, 'Internal Server Error: collecting metrics failed (see the server log)');
  }
}

export function writeResponse(req: IncomingMessage, res: ServerResponse, response: MetricsResponse): void {
  // The client may have gone while we scraped: nothing to answer then.
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  res.writeHead(response.status, response.headers);
  res.end(req.method === 'HEAD' ? undefined : response.body);
}

/**
 * A `/metrics` handler for node:http and Express (same signature): the
 * merged exposition, OpenMetrics when the Accept header asks for it, gzip
 * when Accept-Encoding allows. Without a registry it makes one
 * MultiprocessRegistry for this handler (keep the handler: the registry
 * remembers what it parsed). A failed scrape answers 500 and is logged; the
 * process never crashes over it.
 *
 * ```js
 * http.createServer((req, res) => req.url === '/metrics' ? handler(req, res) : app(req, res));
 * expressApp.get('/metrics', metricsHandler(registry));
 * ```
 */
export function metricsHandler(registry?: MetricsSource, options: MetricsHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const logger = options.logger ?? consoleLogger;
  let source = registry;
  return (req, res) => {
    source ??= new MultiprocessRegistry({ logger });
    buildMetricsResponse(source, req, logger)
      .then((response) => writeResponse(req, res, response))
      .catch((err: unknown) => {
        logger.warn(`writing the metrics response failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) res.writeHead(500);
        if (!res.writableEnded) res.end();
      });
  };
}

export type FastifyMetricsOptions = {
  /** Default: one new MultiprocessRegistry for this plugin. */
  registry?: MetricsSource;
  /** The route; default `/metrics`. */
  path?: string;
  logger?: Logger;
};

/**
 * Fastify plugin serving the metrics at `path` (GET; Fastify adds HEAD),
 * with the same negotiation and gzip as metricsHandler:
 *
 * ```js
 * app.register(fastifyMetrics, { path: '/metrics', registry });
 * ```
 */
export const fastifyMetrics: FastifyPluginLike<FastifyMetricsOptions> = (instance: FastifyInstanceLike, options, done) => {
  const logger = options?.logger ?? consoleLogger;
  const source = options?.registry ?? new MultiprocessRegistry({ logger });
  instance.get(options?.path ?? '/metrics', async (request, reply) => {
    const response = await buildMetricsResponse(source, request.raw, logger);
    reply.code(response.status).headers(response.headers);
    return reply.send(response.body);
  });
  done();
};
