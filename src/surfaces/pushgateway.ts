// prom-client's Pushgateway client, pushing what a registry exposes (by
// default the merged metrics of the whole multiprocess directory, which
// Python's multiprocess mode cannot push at all).
//
// What it sends is prom-client 15.1.3's request: the same method per call
// (POST, PUT, DELETE), the same path (the gateway URL's own path, /metrics,
// then /job/<name> and /<label>/<value> per grouping, each part
// percent-encoded with encodeURIComponent), the caller's request options and
// headers, basic auth from the URL, gzip when the caller's headers ask for it,
// the same errors and messages. Differences, all deliberate (docs/api.md,
// "Pushing to a Pushgateway"): a failed scrape destroys the request before
// anything is written, header names are matched case-insensitively, the caller's
// headers object is never modified, and a refused push is a PushgatewayError
// carrying the status and body.
import type * as http from 'http';
import type * as https from 'https';
import { urlToHttpOptions } from 'node:url';
import { promisify } from 'node:util';
import { PROMETHEUS_PROTOBUF_CONTENT_TYPE, register, type RegistryContentType } from '../collector/registry.js';
import { PromMultiprocError, ValidationError } from '../errors.js';

/**
 * The transports and zlib, loaded at the first push (most processes never
 * push), as 'http' and 'https', not 'node:http': module mocks keyed on the
 * bare name (jest.mock('http'), as prom-client's own tests use) must reach us.
 */
function transport(protocol: string): typeof http | typeof https {
  return protocol === 'https:' ? (require('https') as typeof https) : (require('http') as typeof http);
}

function gzipAsync(text: string | Uint8Array): Promise<Buffer> {
  return promisify((require('node:zlib') as typeof import('node:zlib')).gzip)(text);
}

/** What a Pushgateway pushes: a Registry (`register` by default: with a directory, the merged view), or anything with these two members. */
export interface PushgatewayRegistry<T extends string = string> {
  metrics(): Promise<string | Uint8Array>;
  readonly contentType: T;
}

/**
 * A push the Pushgateway answered with a status of 400 or more (`statusCode`
 * and `body` are its answer), or one that timed out (neither is set). The
 * message is prom-client's: `push failed with status 400, <body>`, or
 * `Pushgateway request timed out`.
 */
export class PushgatewayError extends PromMultiprocError {
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly body?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}


interface GatewayState {
  gatewayUrl: string;
  registry: PushgatewayRegistry;
  requireJobName: boolean;
  requestOptions: https.RequestOptions;
}

// The state lives outside the instances, so that the declared class is
// exactly prom-client's (a constructor and three methods): objects shaped like
// one stay assignable to it, as they are to prom-client's type.
const states = new WeakMap<object, GatewayState>();

type Method = 'POST' | 'PUT' | 'DELETE';

/**
 * Pushes a registry's metrics to a Prometheus Pushgateway, as prom-client's
 * class of the same name does. `T`, the registry's content type, is there
 * for prom-client's signature; the body is sent in whatever format the
 * registry produces (the Pushgateway parses the text format 0.0.4).
 */
export class Pushgateway<T extends string = RegistryContentType> {
  /**
   * @param url the Pushgateway, e.g. `http://127.0.0.1:9091`; a path in it is
   *   kept (`http://host/prefix` pushes to `/prefix/metrics/...`), and
   *   `user:password@` becomes basic auth.
   * @param options node:http / node:https request options (`timeout`,
   *   `headers`, `agent`, `ca`, ...), merged over those of the URL, plus
   *   `requireJobName` (default true; false allows pushing to `/metrics`
   *   alone, for gateways other than Prometheus'). Typed `any` as in
   *   prom-client; `Pushgateway.Options` is the checked type.
   * @param registry what to push; default the merged metrics of the
   *   multiprocess directory (this process's own metrics without one).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(url: string, options?: any, registry?: PushgatewayRegistry<T>) {
    const { requireJobName, ...requestOptions } = { requireJobName: true, ...(options as Pushgateway.Options | null | undefined) };
    states.set(this, { gatewayUrl: url, registry: registry ?? register, requireJobName: Boolean(requireJobName), requestOptions });
  }

  /**
   * POST: replaces, in the group, the metrics whose names this push carries;
   * the group's other metrics stay. Throws (synchronously, as prom-client) a
   * ValidationError without a jobName unless `requireJobName` is false.
   */
  pushAdd(params?: Pushgateway.Parameters): Promise<{ resp?: unknown; body?: unknown }> {
    return send(this, 'POST', params);
  }

  /** PUT: replaces every metric of the group by this push. */
  push(params?: Pushgateway.Parameters): Promise<{ resp?: unknown; body?: unknown }> {
    return send(this, 'PUT', params);
  }

  /** DELETE: removes the group (no body is sent). */
  delete(params?: Pushgateway.Parameters): Promise<{ resp?: unknown; body?: unknown }> {
    return send(this, 'DELETE', params);
  }
}

// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace Pushgateway {
  /** prom-client's: the job and the grouping labels that name the group. */
  export interface Parameters {
    /** The job that pushes: the `job` label of the group. */
    jobName: string;
    /** More labels of the group's key, in the URL after the job, in this order. */
    groupings?: {
      [key: string]: string;
    };
  }

  /** The constructor's options, for callers who want them type-checked. */
  export type Options = https.RequestOptions & {
    /** Default true: a call without `jobName` throws. */
    requireJobName?: boolean;
  };

  /** What a call resolves to: the response and its body, as a string. */
  export interface Result {
    resp: http.IncomingMessage;
    body: string;
  }
}

/**
 * One part of the path as prom-client spells it: encodeURIComponent, and `'`
 * as %27 (prom-client's legacy url.resolve escapes the quote that
 * encodeURIComponent leaves).
 */
function pathPart(value: string): string {
  return encodeURIComponent(value).replaceAll("'", '%27');
}

/** The path of a push: the URL's own path, then prom-client's job and grouping parts. */
function pushPath(gatewayPath: string, jobName: string | undefined, groupings: Pushgateway.Parameters['groupings']): string {
  const prefix = gatewayPath && gatewayPath !== '/' ? gatewayPath : '';
  if (!jobName) return `${prefix}/metrics`;
  let path = `${prefix}/metrics/job/${pathPart(jobName)}`;
  if (groupings) for (const key of Object.keys(groupings)) path += `/${pathPart(key)}/${pathPart(groupings[key])}`;
  return path;
}

/** The caller's headers as an object (node:http also takes a flat [name, value, ...] array), copied. */
function headerObject(headers: https.RequestOptions['headers']): http.OutgoingHttpHeaders {
  if (!headers) return {};
  if (!Array.isArray(headers)) return { ...(headers as http.OutgoingHttpHeaders) };
  const object: http.OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < headers.length; i += 2) object[headers[i]] = headers[i + 1];
  return object;
}

function headerName(headers: http.OutgoingHttpHeaders, name: string): string | undefined {
  return Object.keys(headers).find((key) => key.toLowerCase() === name);
}

function send(gateway: object, method: Method, params: Pushgateway.Parameters | undefined): Promise<Pushgateway.Result> {
  const state = states.get(gateway);
  if (!state) throw new TypeError('not a Pushgateway');
  const { jobName, groupings } = params ?? ({} as Partial<Pushgateway.Parameters>);
  if (state.requireJobName && !jobName) throw new ValidationError('Missing jobName parameter');
  return request(state, method, jobName, groupings);
}

/**
 * Starts the request at once, as prom-client does (so code and tests that
 * watch http.request see it synchronously), and sends the body once the
 * registry has produced it; if that fails, the request is destroyed before
 * anything was written, so the gateway receives nothing.
 */
function request(state: GatewayState, method: Method, jobName: string | undefined, groupings: Pushgateway.Parameters['groupings']): Promise<Pushgateway.Result> {
  return new Promise((resolve, reject) => {
    const url = new URL(state.gatewayUrl);
    const headers = headerObject(state.requestOptions.headers);
    const encoding = headerName(headers, 'content-encoding');
    // Nothing is sent with a DELETE, so nothing is encoded.
    if (method === 'DELETE' && encoding !== undefined) delete headers[encoding];
    // The Pushgateway reads a body as text unless its Content-Type says protobuf: a protobuf registry's push says so (the caller's own header wins).
    if (method !== 'DELETE' && state.registry.contentType === PROMETHEUS_PROTOBUF_CONTENT_TYPE && headerName(headers, 'content-type') === undefined) {
      headers['Content-Type'] = PROMETHEUS_PROTOBUF_CONTENT_TYPE;
    }
    const { hostname, port, auth, protocol } = urlToHttpOptions(url);
    const options: https.RequestOptions = {
      protocol,
      hostname,
      ...(port !== undefined && port !== '' ? { port } : {}),
      ...(auth !== undefined ? { auth } : {}),
      path: pushPath(url.pathname, jobName, groupings),
      ...state.requestOptions,
      method,
      headers,
    };
    const req = transport(url.protocol).request(options, (resp) => {
      let text = '';
      resp.setEncoding('utf8');
      resp.on('data', (chunk: string) => (text += chunk));
      resp.on('error', reject);
      resp.on('end', () => {
        const status = resp.statusCode ?? 0;
        if (status >= 400) reject(new PushgatewayError(`push failed with status ${status}, ${text}`, status, text));
        else resolve({ resp, body: text });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new PushgatewayError('Pushgateway request timed out')));
    if (method === 'DELETE') {
      req.end();
      return;
    }
    const gzipped = encoding !== undefined && String(headers[encoding]).trim().toLowerCase() === 'gzip';
    state.registry
      .metrics()
      .then((body) => (gzipped ? gzipAsync(body) : typeof body === 'string' ? Buffer.from(body, 'utf8') : body))
      .then(
        (body) => {
          req.write(body);
          req.end();
        },
        (err: unknown) => {
          reject(err);
          req.destroy(err as Error);
        },
      );
  });
}
