import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { MultiprocessRegistry } from '../collector/multiprocess-registry.js';
import { contentTypeOf, Registry } from '../collector/registry.js';
import { PROMETHEUS_PROTOBUF_CONTENT_TYPE, type ExpositionContentType, type RegistryContentType } from '../format/content-types.js';
import { consoleLogger, type Logger } from '../log.js';
import type { FastifyInstanceLike, FastifyPluginLike } from './fastify-types.js';
import { expositionResponse, isReadMethod, methodNotAllowed, plainResponse, negotiateFormat, writeResponse, type HttpResponse } from './http.js';

/**
 * What a handler serves: a MultiprocessRegistry, or anything with the same
 * metrics()/contentType methods (a prom-client Registry). Protobuf is
 * negotiated for our registries, and for any other whose class has
 * client_js PR #856's PROMETHEUS_PROTOBUF_CONTENT_TYPE.
 */
export interface MetricsSource {
  readonly contentType: string;
  setContentType(contentType: RegistryContentType): unknown;
  metrics(): Promise<string | Uint8Array>;
}

/** Whether `source` can be switched to the protobuf content type. */
function servesProtobuf(source: MetricsSource): boolean {
  if (source instanceof Registry) return true;
  const type = (source.constructor as { PROMETHEUS_PROTOBUF_CONTENT_TYPE?: unknown } | undefined)?.PROMETHEUS_PROTOBUF_CONTENT_TYPE;
  return type === PROMETHEUS_PROTOBUF_CONTENT_TYPE;
}

export interface MetricsHandlerOptions {
  /** Where failed scrapes are reported; default console.warn. */
  logger?: Logger;
}

/**
 * The exposition in `contentType`. The source's own content type is switched
 * only around the synchronous start of metrics(), where both our registry and
 * prom-client's read it, so concurrent scrapes in both formats never mix.
 */
function metricsIn(source: MetricsSource, contentType: ExpositionContentType): Promise<string | Uint8Array> {
  const previous = source.contentType as RegistryContentType;
  if (previous === contentType) return source.metrics();
  // The protobuf type reaches only sources that take it (servesProtobuf()).
  source.setContentType(contentType as RegistryContentType);
  try {
    return source.metrics();
  } finally {
    source.setContentType(previous);
  }
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
): Promise<HttpResponse> {
  if (!isReadMethod(request.method)) return methodNotAllowed();
  const contentType = contentTypeOf(negotiateFormat(request.headers.accept, { protobuf: servesProtobuf(source) }));
  try {
    return await expositionResponse(await metricsIn(source, contentType), contentType, request.headers['accept-encoding']);
  } catch (err) {
    logger.warn(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}`);
    return plainResponse(500, 'Internal Server Error: collecting metrics failed (see the server log)');
  }
}

/**
 * A `/metrics` handler for node:http and Express (same signature): the
 * merged exposition in the format the Accept header likes best (protobuf,
 * as Prometheus asks for it with native histograms on; OpenMetrics; the
 * text format 0.0.4 otherwise), gzip
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
