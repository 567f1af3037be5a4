import type { IncomingMessage, ServerResponse } from 'node:http';

/*
 * The few parts of Fastify the plugins use, typed structurally: Fastify is an
 * optional peer dependency, so neither the code nor the published .d.ts files
 * may import it.
 */

export interface FastifyRequestLike {
  raw: IncomingMessage;
  /** Fastify 4.10+ and 5: the route template; undefined when no route matched. */
  routeOptions?: { url?: string };
  /** Fastify 4's older name for the route template. */
  routerPath?: string;
}

export interface FastifyReplyLike {
  raw: ServerResponse;
  code(statusCode: number): FastifyReplyLike;
  headers(values: Record<string, string | number>): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

export interface FastifyInstanceLike {
  get(path: string, handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>): unknown;
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown;
}

/** A plugin as `fastify.register()` takes it (the callback style). */
export type FastifyPluginLike<Options> = (instance: FastifyInstanceLike, options: Options, done: (err?: Error) => void) => void;
