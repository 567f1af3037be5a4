import * as fs from 'node:fs';
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MultiprocessRegistry } from '../collector/multiprocess-registry.js';
import { ValidationError } from '../errors.js';
import { consoleLogger, type Logger } from '../log.js';
import { checkDirectory, requireDir } from '../storage/config.js';
import { metricsHandler } from './handler.js';
import { isReadMethod, methodNotAllowed, pathOf, plainResponse, writeResponse } from './http.js';

export const DEFAULT_EXPORTER_HOST = '127.0.0.1';
export const DEFAULT_EXPORTER_PORT = 9464;
export const DEFAULT_METRICS_PATH = '/metrics';
export const HEALTH_PATH = '/healthz';

/** How long close() lets scrapes under way finish before it drops their connections. */
const CLOSE_GRACE_MS = 5000;

export interface ExporterOptions {
  /** The multiprocess directory; default configure()'s dir or PROMETHEUS_MULTIPROC_DIR. */
  dir?: string;
  /** Default 127.0.0.1: only this machine (a Prometheus agent, a proxy) can scrape. */
  host?: string;
  /** Default 9464; 0 picks a free port (see `port` on the result). */
  port?: number;
  /** Default /metrics. */
  path?: string;
  /** Skipped files and failed scrapes are reported here; default console.warn. */
  logger?: Logger;
  /** Passed to the MultiprocessRegistry (when to compact dead writers' files). */
  compactThreshold?: number;
}

export interface Exporter {
  readonly server: http.Server;
  readonly host: string;
  /** The port bound, the real one when 0 was asked for. */
  readonly port: number;
  /** Where the metrics are served, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  /** Stops accepting connections and resolves when the scrapes under way are done. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * A standalone metrics server: the merged metrics of `dir`, read on every
 * scrape by one long-lived registry, at `path`; `200 ok` at /healthz; 404
 * elsewhere. It never maps a file, so the mmap addon is never loaded here.
 */
export async function startExporter(options: ExporterOptions = {}): Promise<Exporter> {
  const dir = requireDir(options.dir, 'startExporter');
  checkDirectory(dir, fs.constants.R_OK);
  const host = options.host ?? DEFAULT_EXPORTER_HOST;
  const port = options.port ?? DEFAULT_EXPORTER_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError(`port must be an integer from 0 to 65535, got ${port}`);
  const metricsPath = options.path ?? DEFAULT_METRICS_PATH;
  if (!metricsPath.startsWith('/') || metricsPath.includes('?')) throw new ValidationError(`path must start with / and have no query, got ${metricsPath}`);
  const logger = options.logger ?? consoleLogger;
  const registry = new MultiprocessRegistry({ dir, logger, compactThreshold: options.compactThreshold });
  const serveMetrics = metricsHandler(registry, { logger });

  // node:http is loaded here, not when the package is: most processes that load the package never start an exporter.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createServer } = require('node:http') as typeof http;
  const server = createServer((req, res) => {
    const pathname = pathOf(req.url);
    const plain = (status: number, text: string, extra: Record<string, string> = {}): void =>
      writeResponse(req, res, plainResponse(status, text, { 'Cache-Control': 'no-store', ...extra }));
    if (pathname === metricsPath) {
      serveMetrics(req, res);
    } else if (pathname === HEALTH_PATH) {
      if (isReadMethod(req.method)) plain(200, 'ok');
      else writeResponse(req, res, methodNotAllowed({ 'Cache-Control': 'no-store' }));
    } else {
      plain(404, `Not Found: metrics are at ${metricsPath}, health at ${HEALTH_PATH}`);
    }
  });
  // An error on one client's socket must not take the exporter down.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.warn(`exporter server error: ${err.message}`));

  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    server,
    host,
    port: bound,
    url: `http://${urlHost(host)}:${bound}${metricsPath}`,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        // close() also drops idle keep-alive connections (Node 19+); requests under way finish.
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
