/**
 * A client of the edge API over `fetch`: one call per route of
 * api/routes.ts, with the route's body writer and answer parser, node
 * authentication for node-only routes (a fresh challenge for its key, signed
 * over the whole request, body included), and a timeout on every request. Used by the node's edge
 * client, the devnet and the benchmarks.
 *
 * A call resolves to the answer checked against its route (`ok: true`), or
 * to the edge's refusal with its code (`ok: false`); an answer whose JSON
 * does not fit the route is `bad-answer`. It rejects (a `PouwError` with
 * code `edge-unreachable`) only when no answer came: the network failed or
 * the timeout passed. The edge is never trusted beyond the shape of what it
 * says: callers check what matters against their own chain data.
 *
 * `fetch` is the runtime's (Workers, Node, browsers) unless one is passed.
 * @module
 */
import { fromHex, toHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { authFor, AUTH_HEADERS, type AuthRequest } from './auth.js';
import { blobHash, blobHashOf, blobPutOf, BLOB_PATH, checkBlob, type BlobPutJson } from './blobs.js';
import { errorOf } from './errors.js';
import { ROUTES, routePath, type AnswerOf, type BodyOf, type RouteName } from './routes.js';

export type Answer<T> = { ok: true; status: number; value: T } | { ok: false; status: number; code: string; message: string };

export interface CallArgs<N extends RouteName> {
  params?: Readonly<Record<string, string | number>>;
  query?: Readonly<Record<string, string | number>>;
  body?: BodyOf<N>;
}

export interface EdgeApiOptions {
  /** The edge's base URL, http(s)://host:port. */
  url: string;
  /** Per request (default 10 000 ms). */
  timeoutMs?: number;
  /** A node's key and its network id: needed for node-only routes. */
  node?: { key: { publicKey: Uint8Array; secretKey: Uint8Array }; networkId: Uint8Array };
  fetch?: typeof fetch;
}

/** An error answer as a failed call. */
function refusal(res: { status: number; json: unknown }): { ok: false; status: number; code: string; message: string } {
  const e = errorOf(res.json);
  return { ok: false, status: res.status, code: e?.code ?? `status-${res.status}`, message: e?.message ?? '' };
}

export class EdgeApi {
  readonly url: string;
  readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: EdgeApiOptions) {
    if (!URL.canParse(options.url) || !/^https?:$/.test(new URL(options.url).protocol)) {
      throw new RangeError(`the edge URL must be http(s)://host:port, not "${options.url}"`);
    }
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Calls route `name`: its path filled from `params`, its body written by the route's codec. */
  async call<N extends RouteName>(name: N, args: CallArgs<N> = {}): Promise<Answer<AnswerOf<N>>> {
    const route = ROUTES[name];
    const path = routePath(route, args.params);
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (args.body !== undefined) {
      const codec = (route as { body?: { write(v: unknown): unknown } }).body;
      if (codec === undefined) throw new RangeError(`${route.method} ${route.path} takes no body`);
      body = JSON.stringify(codec.write(args.body));
      headers['content-type'] = 'application/json';
    }
    const query = args.query ? `?${new URLSearchParams(Object.entries(args.query).map(([k, v]): [string, string] => [k, String(v)]))}` : '';
    // A challenge is issued to the key that asks for it.
    if (name === 'challenge' && this.options.node) headers[AUTH_HEADERS.key] = toHex(this.options.node.key.publicKey);
    if (route.node) {
      const auth = await this.authorize({ method: route.method, path: path + query, body: body ?? '', edge: new URL(this.url).host });
      if (!auth.ok) return auth;
      headers[AUTH_HEADERS.key] = auth.value.key;
      headers[AUTH_HEADERS.challenge] = auth.value.challenge;
      headers[AUTH_HEADERS.sig] = auth.value.sig;
    }
    const res = await this.send(route.method, path + query, headers, body);
    if (res.status < 200 || res.status > 299) return refusal(res);
    try {
      return { ok: true, status: res.status, value: route.answer(res.json) as AnswerOf<N> };
    } catch (e) {
      return { ok: false, status: res.status, code: 'bad-answer', message: `${route.method} ${path}: ${(e as Error).message}` };
    }
  }

  /** A fresh challenge for this client's key, signed over the whole of `request`: key, challenge and signature as hex. */
  async authorize(request: AuthRequest): Promise<Answer<{ key: string; challenge: string; sig: string }>> {
    const node = this.options.node;
    if (node === undefined) throw new RangeError(`${request.method} ${request.path} is node-only: the client needs a node key`);
    const c = await this.call('challenge');
    if (!c.ok) return c;
    return { ok: true, status: c.status, value: authFor(node.key, node.networkId, fromHex(c.value.challenge), request) };
  }

  /** The WebSocket URL of a sector's node socket, with a fresh single-use ticket. */
  async socketUrl(sector: number | string): Promise<Answer<string>> {
    const t = await this.call('socket-ticket', { params: { sector } });
    if (!t.ok) return t;
    const path = routePath(ROUTES.socket, { sector });
    return { ok: true, status: t.status, value: `${this.url.replace(/^http/, 'ws')}${path}?${new URLSearchParams({ ticket: t.value.ticket })}` };
  }

  /** Uploads a blob (api/blobs.ts); its address is the SHA-256 of `bytes`. */
  async putBlob(bytes: Uint8Array): Promise<Answer<BlobPutJson>> {
    const hash = blobHash(bytes);
    const res = await this.send('PUT', BLOB_PATH.replace(':hash', hash), { 'content-type': 'application/octet-stream' }, bytes);
    if (res.status < 200 || res.status > 299) return refusal(res);
    try {
      return { ok: true, status: res.status, value: blobPutOf(res.json) };
    } catch (e) {
      return { ok: false, status: res.status, code: 'bad-answer', message: `PUT blob: ${(e as Error).message}` };
    }
  }

  /** A blob's bytes, checked against their address: a mismatch is `blob-hash-mismatch`, never the bytes. */
  async getBlob(hash: string): Promise<Answer<Uint8Array>> {
    const res = await this.send('GET', BLOB_PATH.replace(':hash', blobHashOf(hash)), {}, undefined, true);
    if (res.status < 200 || res.status > 299) return refusal(res);
    const bytes = res.bytes!;
    const c = checkBlob(hash, bytes);
    return c.ok ? { ok: true, status: res.status, value: bytes } : { ok: false, status: res.status, code: c.code, message: c.detail };
  }

  private async send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    raw = false,
  ): Promise<{ status: number; json: unknown; bytes?: Uint8Array }> {
    // One timer per request, cleared when it is answered: a node catching up sends thousands a second, and
    // AbortSignal.timeout's would each hold the request until it fired.
    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, this.timeoutMs);
    // Like AbortSignal.timeout's, the timer alone keeps no process alive (Node; elsewhere there is nothing to unref).
    (timer as { unref?: () => void }).unref?.();
    try {
      const res = await this.fetchFn(this.url + path, { method, headers, body: body as RequestInit['body'], signal: ctrl.signal });
      if (raw && res.status >= 200 && res.status <= 299) return { status: res.status, json: undefined, bytes: new Uint8Array(await res.arrayBuffer()) };
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json };
    } catch (e) {
      const why = timedOut ? `no answer in ${this.timeoutMs} ms` : (e as Error).message;
      throw new PouwError('edge-unreachable', `${method} ${this.url}${path}: ${why}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }
}
