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
 * Routes (all under /v1):
 *   GET  /health                      GET  /sectors               GET /sectors/:sector/tip
 *   POST /sectors/:sector/headers  *  GET  /sectors/:sector/ws  *  GET /beacon/:window
 *   POST /main/tx                     GET  /main/tx/:txid         POST /main/tx/:txid/records *
 *   POST /conversions  *              GET  /conversions/:txid     POST /conversions/:txid/records *
 *   POST /auth/challenge
 * (* = node only: x-pouw-key / x-pouw-challenge / x-pouw-sig headers, or
 * key / challenge / sig query parameters on the WebSocket.)
 * @module
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { EdgeOp, EdgeRequest, EdgeResponse } from './coordinator.js';
import { errorBody } from './errors.js';
import type { Push } from './messages.js';

export interface EdgeBackend {
  handle(req: EdgeRequest): EdgeResponse | Promise<EdgeResponse>;
}

/** Where nodes' sockets live: in-process on Node, per-sector Durable Objects on Workers. */
export interface SocketHub {
  /** Completes the upgrade of an authenticated node of `sectorId`. */
  accept(c: Context, sectorId: number, nodeKey: string): Response | Promise<Response>;
  /** Sends each push to every connected node of its sectors. */
  publish(pushes: readonly Push[]): void | Promise<void>;
}

export interface AppOptions {
  backend: EdgeBackend;
  hub: SocketHub;
  /** The client's address for the per-IP limit. */
  clientIp(c: Context): string;
  log?(line: string): void;
}

/** Largest body per route, in bytes. */
export const BODY_LIMITS = {
  tx: 4 * 1024,
  headers: 512 * 1024,
  record: 64 * 1024,
  conversion: 64 * 1024,
  empty: 1024,
} as const;

type ReadResult = { ok: true; text: string } | { ok: false; status: 400 | 413; code: string; message: string };

/** Past this much, an oversize body is not read to its end: the connection is dropped instead. */
export const MAX_DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * The body as text, at most `max` bytes whatever the headers claim. An
 * oversize body is still read (and dropped) up to MAX_DRAIN_BYTES, so that the
 * client, still sending, gets the 413 rather than a reset connection.
 */
export async function readBodyText(req: Request, max: number): Promise<ReadResult> {
  const tooLarge: ReadResult = { ok: false, status: 413, code: 'body-too-large', message: `this route takes at most ${max} bytes` };
  const declared = req.headers.get('content-length');
  if (declared !== null && !/^\d{1,15}$/.test(declared)) return tooLarge;
  if (declared !== null && Number(declared) <= max) {
    // Within the limit as declared, and HTTP framing holds a body to its declared length: read it
    // whole (on Node this skips building a web stream for it), and still check what arrived.
    const all = new Uint8Array(await req.arrayBuffer());
    return all.byteLength > max ? tooLarge : utf8Text(all);
  }
  if (req.body === null) return { ok: true, text: '' };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = declared !== null && Number(declared) > MAX_DRAIN_BYTES ? MAX_DRAIN_BYTES + 1 : 0;
  for (;;) {
    if (total > MAX_DRAIN_BYTES) {
      await reader.cancel().catch(() => undefined);
      return tooLarge;
    }
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total <= max) chunks.push(value);
  }
  if (total > max) return tooLarge;
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return utf8Text(all);
}

function utf8Text(bytes: Uint8Array): ReadResult {
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, status: 400, code: 'bad-json', message: 'the body is not UTF-8' };
  }
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

  const request = (c: Context, op: EdgeOp, body?: unknown): EdgeRequest => ({
    op,
    ip: clientIp(c),
    // Path parameters win over a query parameter of the same name.
    params: { ...c.req.query(), ...(c.req.param() as Record<string, string>) },
    body,
    scope: `${c.req.method} ${c.req.path}`,
    auth: { key: c.req.header('x-pouw-key'), challenge: c.req.header('x-pouw-challenge'), sig: c.req.header('x-pouw-sig') },
  });

  /** A route whose body is JSON (limit > 0), ignored but bounded (limit < 0), or absent (0). */
  const route = (method: 'get' | 'post', path: string, op: EdgeOp, limit = 0) =>
    app[method](path, async (c) => {
      let body: unknown;
      if (limit !== 0) {
        const read = await readBodyText(c.req.raw, Math.abs(limit));
        if (!read.ok) {
          // The client may still be sending: this connection is not worth keeping.
          if (read.status === 413) c.header('connection', 'close');
          return c.json(errorBody(read.code, read.message), read.status);
        }
        if (limit > 0) {
          try {
            body = JSON.parse(read.text);
          } catch {
            return c.json(errorBody('bad-json', 'the body must be JSON'), 400);
          }
        }
      }
      return respond(c, await backend.handle(request(c, op, body)));
    });

  route('get', '/v1/health', 'health');
  route('get', '/v1/sectors', 'sectors');
  route('get', '/v1/sectors/:sector/tip', 'tip');
  route('get', '/v1/sectors/:sector/headers', 'header-range');
  route('post', '/v1/sectors/:sector/headers', 'headers', BODY_LIMITS.headers);
  route('get', '/v1/beacon/:window', 'beacon');
  route('post', '/v1/main/tx', 'main-submit', BODY_LIMITS.tx);
  route('get', '/v1/main/tx/:txid', 'main-status');
  route('post', '/v1/main/tx/:txid/records', 'main-record', BODY_LIMITS.record);
  route('post', '/v1/conversions', 'conversion-submit', BODY_LIMITS.conversion);
  route('get', '/v1/conversions/:txid', 'conversion-status');
  route('post', '/v1/conversions/:txid/records', 'conversion-record', BODY_LIMITS.record);
  route('post', '/v1/auth/challenge', 'challenge', -BODY_LIMITS.empty);

  app.get('/v1/sectors/:sector/ws', async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      return c.json(errorBody('upgrade-required', 'this route is a WebSocket: send Upgrade: websocket'), 426);
    }
    const req = request(c, 'socket');
    req.auth = { key: c.req.query('key'), challenge: c.req.query('challenge'), sig: c.req.query('sig') };
    const res = await backend.handle(req);
    if (res.status !== 200) return respond(c, res);
    const ok = res.body as { sectorId: number; key: string };
    return hub.accept(c, ok.sectorId, ok.key);
  });

  app.notFound((c) => c.json(errorBody('not-found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((e, c) => {
    log(`internal error on ${c.req.method} ${c.req.path}: ${e.stack ?? e.message}`);
    return c.json(errorBody('internal-error', 'the edge failed on this request'), 500);
  });
  return app;
}
