// A small test client of the edge API: JSON requests, node authentication
// (a challenge for the key → a signature over the whole request, body
// included), sockets opened with tickets that collect what the edge pushes.
// Only ever talks to 127.0.0.1.
import { WebSocket } from 'ws';
import { fromHex, toHex } from '../../core/bytes.js';
import type { KeyPair } from '../../core/keys.js';
import { AUTH_HEADERS, authFor } from '../../api/auth.js';
import { until } from '../wait.js';

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export interface AuthHeaders {
  'x-pouw-key': string;
  'x-pouw-challenge': string;
  'x-pouw-sig': string;
}

export class EdgeClient {
  constructor(
    readonly url: string,
    readonly networkId: Uint8Array,
    readonly key: KeyPair,
  ) {}

  async request(method: string, path: string, init: { body?: string | Uint8Array | ReadableStream<Uint8Array>; headers?: Record<string, string> } = {}): Promise<Answer> {
    const r = await fetch(this.url + path, {
      method,
      body: init.body,
      headers: init.headers,
      ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
      signal: AbortSignal.timeout(15_000),
    } as RequestInit);
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the test looks at the text.
    }
    return { status: r.status, body, headers: r.headers };
  }

  get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }

  /** POSTs `body` as JSON (a string is sent as it is), authenticated when `auth` says so. */
  async post(path: string, body: unknown, auth: boolean | AuthHeaders = false): Promise<Answer> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth === true) Object.assign(headers, await this.auth('POST', path, this.key, text));
    else if (auth) Object.assign(headers, auth);
    return this.request('POST', path, { body: text, headers });
  }

  /** A challenge issued to `key`. */
  async challenge(key: KeyPair = this.key): Promise<string> {
    const r = await this.request('POST', '/v1/auth/challenge', { headers: { [AUTH_HEADERS.key]: toHex(key.publicKey) } });
    if (r.status !== 201) throw new Error(`challenge: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.challenge as string;
  }

  /** Headers authorizing one request (method, path with query, body) with a fresh challenge. */
  async auth(method: string, path: string, key: KeyPair = this.key, body: unknown = ''): Promise<AuthHeaders> {
    const challenge = await this.challenge(key);
    return this.sign(method, path, challenge, key, body);
  }

  /** The auth headers of `key` for (method, path, body) with `challenge`; a non-string body is signed as its JSON. */
  sign(method: string, path: string, challenge: string, key: KeyPair = this.key, body: unknown = ''): AuthHeaders {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const a = authFor(key, this.networkId, fromHex(challenge), { method, path, body: text, edge: new URL(this.url).host });
    return { [AUTH_HEADERS.key]: a.key, [AUTH_HEADERS.challenge]: a.challenge, [AUTH_HEADERS.sig]: a.sig } as AuthHeaders;
  }

  /** A socket ticket for a sector (a signed POST). */
  async ticket(sectorId: number | string): Promise<string> {
    const path = `/v1/sectors/${sectorId}/ws-ticket`;
    const r = await this.request('POST', path, { headers: { ...(await this.auth('POST', path)) } });
    if (r.status !== 201) throw new Error(`ticket: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.ticket as string;
  }

  /** Opens an authenticated node socket of a sector (with `ticket`, or a fresh one); resolves on the edge's welcome. */
  async socket(sectorId: number | string, ticket?: string): Promise<NodeSocket> {
    const t = ticket ?? (await this.ticket(sectorId));
    const s = new NodeSocket(new WebSocket(`${this.url.replace(/^http/, 'ws')}/v1/sectors/${sectorId}/ws?ticket=${t}`));
    await s.opened;
    await s.next((m) => m.type === 'welcome');
    return s;
  }

  /** The HTTP status a socket upgrade is refused with. */
  async socketRefusal(sectorId: number | string, query: string): Promise<number> {
    const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/v1/sectors/${sectorId}/ws?${query}`);
    return new Promise((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        ws.close();
        reject(new Error('the upgrade was accepted'));
      });
      ws.on('error', () => undefined);
    });
  }
}

export class NodeSocket {
  readonly messages: any[] = [];
  readonly opened: Promise<void>;
  /** The close code the socket ends with. */
  readonly closed: Promise<number>;
  private seen = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`socket refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** The first message from the cursor on that matches (and moves the cursor past it). */
  async next(match: (m: any) => boolean, ms = 15_000): Promise<any> {
    let found: any;
    await until(() => {
      const i = this.messages.findIndex((m, j) => j >= this.seen && match(m));
      if (i < 0) return false;
      found = this.messages[i];
      this.seen = i + 1;
      return true;
    }, ms);
    return found;
  }

  /** Every message so far that matches. */
  all(match: (m: any) => boolean): any[] {
    return this.messages.filter(match);
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  close(): void {
    this.ws.close();
  }
}
