import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ValidationError, showValue } from '../errors.js';
import { register } from '../collector/registry.js';
import { consoleLogger, type Logger } from '../log.js';
import { Counter } from '../metrics/counter.js';
import { DEFAULT_BUCKETS, Histogram } from '../metrics/histogram.js';
import type { FastifyInstanceLike, FastifyPluginLike, FastifyReplyLike, FastifyRequestLike } from './fastify-types.js';
import { pathOf } from './http.js';

/** The `route` label of requests that matched no route (and of plain node:http without a `route` option). */
export const UNMATCHED_ROUTE = '<unmatched>';

/**
 * The `status` label of a request whose response was never completed (the
 * client went away or the socket was destroyed): nginx's "client closed request".
 */
export const ABORTED_STATUS = '499';

export interface HttpMetricsOptions<Req = IncomingMessage, Res = ServerResponse> {
  /** Prepended to both metric names: `myapp_` gives `myapp_http_requests_total`. Default ''. */
  prefix?: string;
  /** Buckets of the duration histogram, in seconds; default DEFAULT_BUCKETS (prom-client's). */
  buckets?: number[];
  /** Names of extra labels, whose values `extraLabels` returns for each request. */
  extraLabelNames?: string[];
  /** Values of the extra labels; a missing value is recorded as ''. Called once the response is done. */
  extraLabels?: (req: Req, res: Res) => Record<string, string | number | undefined>;
  /** Request paths (the URL without its query) not measured: exact strings or regular expressions. Default ['/metrics']. */
  excludePaths?: Array<string | RegExp>;
  /**
   * The route template of a request, called once the response is done; return
   * undefined to use the framework's template, or UNMATCHED_ROUTE. Needed for
   * plain node:http, which has no router. Never return the raw path: every
   * distinct value is a new series in every worker's files.
   */
  route?: (req: Req, res: Res) => string | undefined;
  /** Where problems in the callbacks above are reported (once per message); default console.warn. */
  logger?: Logger;
}

interface RequestMetrics {
  requests: Counter<string>;
  duration: Histogram<string>;
  extraLabelNames: readonly string[];
  signature: string;
}

/**
 * Metric objects per name prefix: a family may be declared only once per
 * process, so a second middleware (an Express app and a Fastify app in one
 * process, or a middleware per router) shares them.
 */
const metricsByPrefix = new Map<string, RequestMetrics>();

/** The options two middlewares of one prefix must share, as text; never throws (a BigInt must reach the metrics' own checks). */
function signatureOf(buckets: readonly number[], extraLabelNames: readonly string[]): string {
  try {
    return JSON.stringify({ buckets, extraLabelNames }, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
  } catch {
    return showValue({ buckets, extraLabelNames });
  }
}

function requestMetrics(prefix: string, buckets: readonly number[], extraLabelNames: readonly string[]): RequestMetrics {
  const signature = signatureOf(buckets, extraLabelNames);
  const existing = metricsByPrefix.get(prefix);
  if (existing) {
    if (existing.signature !== signature) {
      throw new ValidationError(
        `Metric ${prefix}http_requests_total: already created in this process with ${existing.signature}; ` +
          `every HTTP metrics middleware with prefix "${prefix}" must use the same buckets and extra labels, got ${signature}`,
      );
    }
    return existing;
  }
  if (!Array.isArray(extraLabelNames)) throw new ValidationError(`Metric ${prefix}http_requests_total: extraLabelNames must be an array, got ${showValue(extraLabelNames)}`);
  const labelNames = ['method', 'route', 'status', ...extraLabelNames];
  const requests = new Counter({ name: `${prefix}http_requests_total`, help: 'HTTP requests served, by method, route template and status code.', labelNames });
  let duration: Histogram<string>;
  try {
    duration = new Histogram({
      name: `${prefix}http_request_duration_seconds`,
      help: 'Time from the start of an HTTP request to the end of its response, by method, route template and status code.',
      labelNames,
      buckets: Array.isArray(buckets) ? [...(buckets as readonly number[])] : (buckets as unknown as number[]),
    });
  } catch (err) {
    // Refused buckets leave no name registered: a corrected call makes both metrics.
    register.removeSingleMetric(requests.name);
    throw err;
  }
  const created = { requests, duration, extraLabelNames, signature };
  metricsByPrefix.set(prefix, created);
  return created;
}

/** Express's route template: the mount path(s) so far and the matched route's path. */
function expressRoute(req: IncomingMessage): string | undefined {
  const express = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };
  const routePath = express.route?.path;
  if (routePath === undefined || routePath === null) return undefined;
  const template = typeof routePath === 'string' ? routePath : String(routePath);
  const base = express.baseUrl ?? '';
  if (base === '') return template;
  return template === '/' ? base : base + template;
}

/** Measures requests and records them with the labels a framework resolves at the end. */
class RequestTracker<Req, Res> {
  private readonly metrics: RequestMetrics;
  private readonly excluded: Array<string | RegExp>;
  private readonly logger: Logger;
  private readonly reported = new Set<string>();

  constructor(
    private readonly options: HttpMetricsOptions<Req, Res>,
    private readonly frameworkRoute: (req: Req) => string | undefined,
  ) {
    this.logger = options.logger ?? consoleLogger;
    this.excluded = options.excludePaths ?? ['/metrics'];
    if (options.extraLabelNames?.length && !options.extraLabels) {
      throw new ValidationError(`Metric ${options.prefix ?? ''}http_requests_total: extraLabelNames [${options.extraLabelNames.join(', ')}] need an extraLabels function`);
    }
    this.metrics = requestMetrics(options.prefix ?? '', options.buckets ?? DEFAULT_BUCKETS, options.extraLabelNames ?? []);
  }

  isExcluded(url: string | undefined): boolean {
    const path = pathOf(url);
    return this.excluded.some((rule) => (typeof rule === 'string' ? rule === path : rule.test(path)));
  }

  /** Starts measuring now; records once when `raw` finishes or closes. */
  track(req: Req, res: Res, rawReq: IncomingMessage, rawRes: ServerResponse): void {
    // Express rewrites req.url inside mounted routers; originalUrl keeps the whole path.
    if (this.isExcluded((rawReq as IncomingMessage & { originalUrl?: string }).originalUrl ?? rawReq.url)) return;
    const start = performance.now();
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      rawRes.off('finish', record);
      rawRes.off('close', record);
      const seconds = (performance.now() - start) / 1000;
      // A listener that throws would crash the process: nothing here may.
      try {
        const status = rawRes.writableFinished ? String(rawRes.statusCode) : ABORTED_STATUS;
        const labels = this.labels(req, res, rawReq.method ?? 'UNKNOWN', status);
        this.metrics.requests.inc(labels);
        this.metrics.duration.observe(labels, seconds);
      } catch (err) {
        this.reportOnce(`recording HTTP request metrics failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    rawRes.on('finish', record);
    rawRes.on('close', record);
  }

  private labels(req: Req, res: Res, method: string, status: string): Record<string, string | number> {
    const labels: Record<string, string | number> = { method, route: this.route(req, res), status };
    const names = this.metrics.extraLabelNames;
    if (names.length === 0) return labels;
    let extra: Record<string, string | number | undefined> = {};
    try {
      extra = this.options.extraLabels?.(req, res) ?? {};
    } catch (err) {
      this.reportOnce(`extraLabels threw, recording '' for [${names.join(', ')}]: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const name of names) labels[name] = extra[name] ?? '';
    return labels;
  }

  private route(req: Req, res: Res): string {
    if (this.options.route) {
      try {
        const custom = this.options.route(req, res);
        if (custom !== undefined) return custom;
      } catch (err) {
        this.reportOnce(`the route option threw, using the framework's route: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return this.frameworkRoute(req) ?? UNMATCHED_ROUTE;
  }

  private reportOnce(message: string): void {
    if (this.reported.has(message)) return;
    if (this.reported.size < 1000) this.reported.add(message);
    this.logger.warn(message);
  }
}

/**
 * HTTP request metrics for node:http and Express: `http_requests_total` and
 * `http_request_duration_seconds`, labelled by method, route template and
 * status. As Express middleware (`app.use(httpMetricsMiddleware())`, before
 * the routes) the route is Express's template (`/users/:id`, mount paths
 * included); with plain node:http, call it first in the request listener
 * (`track(req, res)`) and pass a `route` option, or every request is
 * recorded under UNMATCHED_ROUTE.
 */
export function httpMetricsMiddleware<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: HttpMetricsOptions<Req, Res> = {},
): (req: Req, res: Res, next?: (err?: unknown) => void) => void {
  const tracker = new RequestTracker<Req, Res>(options, expressRoute);
  return (req, res, next) => {
    tracker.track(req, res, req, res);
    next?.();
  };
}

export type FastifyHttpMetricsOptions = HttpMetricsOptions<FastifyRequestLike, FastifyReplyLike>;

const fastifyRoute = (request: FastifyRequestLike): string | undefined => request.routeOptions?.url ?? request.routerPath;

/**
 * The same request metrics for Fastify, the route being Fastify's template
 * (`request.routeOptions.url`, prefixes included). Register it on the root
 * instance, before the routes; it is not encapsulated, so it sees every route:
 *
 * ```js
 * await app.register(fastifyHttpMetrics, { buckets: [0.01, 0.1, 1] });
 * ```
 */
export const fastifyHttpMetrics: FastifyPluginLike<FastifyHttpMetricsOptions> = Object.assign(
  (instance: FastifyInstanceLike, options: FastifyHttpMetricsOptions, done: (err?: Error) => void): void => {
    let tracker: RequestTracker<FastifyRequestLike, FastifyReplyLike>;
    try {
      tracker = new RequestTracker<FastifyRequestLike, FastifyReplyLike>(options ?? {}, fastifyRoute);
    } catch (err) {
      done(err as Error);
      return;
    }
    instance.addHook('onRequest', (request, reply, hookDone) => {
      tracker.track(request, reply, request.raw, reply.raw);
      hookDone();
    });
    done();
  },
  {
    // What the fastify-plugin package sets: the hook applies to the whole app, not to a child context.
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'prom-multiproc-http-metrics',
  },
);
