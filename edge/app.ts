/**
 * The edge's HTTP API as a runtime-neutral Hono app. Each route turns the
 * request into an `EdgeRequest` and hands it to the backend (the coordinator,
 * in-process on Node, a Durable Object over RPC on Workers); the backend's
 * answer becomes the JSON response, its pushes go to the socket hub.
 *
 * What the app does itself, before the backend sees anything: body size limits
 * (413 `body-too-large`, also for bodies without a content-length), JSON
 * parsing (400 `bad-json`), the WebSocket upgrade check (426
 * `upgrade-required`), and the 404/500 fallbacks. Every error, here or in the
 * backend, is `{ error: { code, message } }`.
 *
 * The routes are exactly the contract's table (api/routes.ts): their paths,
 * methods, body limits and which of them only an authenticated node may
 * call; error codes become HTTP statuses here (edge/errors.ts).
 * @module
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AUTH_HEADERS } from '../api/auth.js';
import { BLOB_PATH, blobHashOf, checkBlob, MAX_BLOB_BYTES, type BlobPutJson } from '../api/blobs.js';
import { errorBody, reject } from '../api/errors.js';
import { readBodyBytes, readBodyText } from '../api/http.js';
import { taskSubmitBody } from '../api/tasks.js';
import { PouwError } from '../core/errors.js';
import { checkTaskInputs, type BlobStore } from './blobs.js';
import { ROUTE_NAMES, ROUTES, type RouteName } from '../api/routes.js';
import type { EdgeRequest, EdgeResponse } from './coordinator.js';
import { statusOf } from './errors.js';
import type { Push } from './messages.js';

export interface EdgeBackend {
  handle(req: EdgeRequest): EdgeResponse | Promise<EdgeResponse>;
}

/** Where nodes' sockets live: in-process on Node, per-sector Durable Objects on Workers. */
export interface SocketHub {
  /** Completes the upgrade of an authenticated node of `sectorId` from address `ip` (its frames count against it). */
  accept(c: Context, sectorId: number, nodeKey: string, ip: string): Response | Promise<Response>;
  /** Sends each push to every connected node of its sectors. */
  publish(pushes: readonly Push[]): void | Promise<void>;
}

export interface AppOptions {
  backend: EdgeBackend;
  hub: SocketHub;
  /** Where task blobs live (edge/blobs.ts); without one the blob routes answer `blobs-unavailable`. */
  blobs?: BlobStore;
  /** The client's address for the per-IP limit. */
  clientIp(c: Context): string;
  log?(line: string): void;
}

export function createApp(options: AppOptions): Hono {
  const { backend, hub, clientIp } = options;
  const log = options.log ?? (() => undefined);
  const app = new Hono();

  const respond = async (c: Context, res: EdgeResponse): Promise<Response> => {
    if (res.pushes.length > 0) {
      try {
        await hub.publish(res.pushes);
      } catch (e) {
        log(`push failed: ${(e as Error).message}`);
      }
    }
    if (res.retryAfterS !== undefined) c.header('retry-after', String(res.retryAfterS));
    return c.json(res.body as object, res.status as ContentfulStatusCode);
  };

  const request = (c: Context, op: RouteName, body?: unknown, bodyText = ''): EdgeRequest => {
    const url = new URL(c.req.url);
    return {
      op,
      ip: clientIp(c),
      // Path parameters win over a query parameter of the same name.
      params: { ...c.req.query(), ...(c.req.param() as Record<string, string>) },
      body,
      // What the node signed: this edge as it named it, the method, the path with its query, the body's bytes.
      signed: { method: c.req.method, path: url.pathname + url.search, body: bodyText, edge: c.req.header('host') ?? url.host },
      auth: { key: c.req.header(AUTH_HEADERS.key), challenge: c.req.header(AUTH_HEADERS.challenge), sig: c.req.header(AUTH_HEADERS.sig) },
    };
  };

  /** A route whose body is JSON (limit > 0), ignored but bounded (limit < 0), or absent (0). */
  const handler = (op: RouteName, limit: number) => async (c: Context) => {
    let body: unknown;
    let text = '';
    if (limit !== 0) {
      const read = await readBodyText(c.req.raw, Math.abs(limit));
      if (!read.ok) {
        // The client may still be sending: this connection is not worth keeping.
        if (read.code === 'body-too-large') c.header('connection', 'close');
        return c.json(errorBody(read.code, read.message), statusOf(read.code) as ContentfulStatusCode);
      }
      text = read.text;
      if (limit > 0) {
        try {
          body = JSON.parse(read.text);
        } catch {
          return c.json(errorBody('bad-json', 'the body must be JSON'), 400);
        }
      }
    }
    // A task's inputs are checked against its tx here: blob stores are asynchronous, the backend is not.
    if (op === 'task-submit') {
      try {
        if (!options.blobs) reject('blobs-unavailable', 'this edge keeps no blobs');
        await checkTaskInputs(taskSubmitBody.parse(body), options.blobs);
      } catch (e) {
        if (!(e instanceof PouwError)) throw e;
        return c.json(errorBody(e.code, e.message), statusOf(e.code) as ContentfulStatusCode);
      }
    }
    return respond(c, await backend.handle(request(c, op, body, text)));
  };

  /** The blob store and the address of a blob route, or the refusal to answer. */
  const blobRoute = (c: Context): { blobs: BlobStore; hash: string } | Response => {
    if (!options.blobs) return c.json(errorBody('blobs-unavailable', 'this edge keeps no blobs'), 501);
    try {
      return { blobs: options.blobs, hash: blobHashOf(c.req.param('hash')) };
    } catch (e) {
      return c.json(errorBody((e as PouwError).code, (e as Error).message), 400);
    }
  };

  const putBlob = async (c: Context) => {
    const route = blobRoute(c);
    if (route instanceof Response) return route;
    const { blobs, hash } = route;
    const read = await readBodyBytes(c.req.raw, MAX_BLOB_BYTES);
    if (!read.ok) {
      c.header('connection', 'close');
      return c.json(errorBody(read.code, read.message), 413);
    }
    // Nothing is stored that does not hash to its address.
    const checked = checkBlob(hash, read.bytes);
    if (!checked.ok) return c.json(errorBody(checked.code, checked.detail), statusOf(checked.code) as ContentfulStatusCode);
    const status = await blobs.put(hash, read.bytes);
    const answer: BlobPutJson = { hash, bytes: read.bytes.length, status };
    return c.json(answer, status === 'stored' ? 201 : 200);
  };

  const getBlob = async (c: Context) => {
    const route = blobRoute(c);
    if (route instanceof Response) return route;
    const { blobs, hash } = route;
    const bytes = await blobs.get(hash);
    if (bytes === undefined) return c.json(errorBody('blob-not-found', `no blob ${hash}`), 404);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' });
  };

  const socket = async (c: Context) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      return c.json(errorBody('upgrade-required', 'this route is a WebSocket: send Upgrade: websocket'), 426);
    }
    const req = request(c, 'socket');
    const res = await backend.handle(req);
    if (res.status !== 200) return respond(c, res);
    const ok = res.body as { sectorId: number; key: string };
    return hub.accept(c, ok.sectorId, ok.key, req.ip ?? 'unknown');
  };

  // Blobs carry raw bytes, not JSON (api/blobs.ts).
  app.put(BLOB_PATH, putBlob);
  app.get(BLOB_PATH, getBlob);
  // Exactly the contract's routes (api/routes.ts).
  for (const name of ROUTE_NAMES) {
    const r = ROUTES[name];
    app.on(r.method, r.path, name === 'socket' ? socket : handler(name, r.bodyLimit));
  }

  app.notFound((c) => c.json(errorBody('not-found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((e, c) => {
    log(`internal error on ${c.req.method} ${c.req.path}: ${e.stack ?? e.message}`);
    return c.json(errorBody('internal-error', 'the edge failed on this request'), 500);
  });
  return app;
}
