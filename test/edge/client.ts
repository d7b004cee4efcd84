// A small test client of the edge API: JSON requests, node authentication
// (challenge → signature over "<METHOD> <path>"), and node sockets that
// collect what the edge pushes. Only ever talks to 127.0.0.1.
import { WebSocket } from 'ws';
import { fromHex } from '../../core/bytes.js';
import type { KeyPair } from '../../core/keys.js';
import { AUTH_HEADERS, authFor, authScope } from '../../api/auth.js';
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
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth === true) Object.assign(headers, await this.auth('POST', path));
    else if (auth) Object.assign(headers, auth);
    return this.request('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  }

  async challenge(): Promise<string> {
    const r = await this.request('POST', '/v1/auth/challenge');
    if (r.status !== 201) throw new Error(`challenge: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.challenge as string;
  }

  /** Headers authorizing one request "<method> <path>" with a fresh challenge. */
  async auth(method: string, path: string, key: KeyPair = this.key): Promise<AuthHeaders> {
    const challenge = await this.challenge();
    return this.sign(method, path, challenge, key);
  }

  sign(method: string, path: string, challenge: string, key: KeyPair = this.key): AuthHeaders {
    const a = authFor(key, this.networkId, fromHex(challenge), authScope(method, path));
    return { [AUTH_HEADERS.key]: a.key, [AUTH_HEADERS.challenge]: a.challenge, [AUTH_HEADERS.sig]: a.sig } as AuthHeaders;
  }

  /** Opens an authenticated node socket of a sector; resolves on the edge's welcome. */
  async socket(sectorId: number | string, auth?: AuthHeaders): Promise<NodeSocket> {
    const path = `/v1/sectors/${sectorId}/ws`;
    const a = auth ?? (await this.auth('GET', path));
    const q = `key=${a['x-pouw-key']}&challenge=${a['x-pouw-challenge']}&sig=${a['x-pouw-sig']}`;
    const s = new NodeSocket(new WebSocket(`${this.url.replace(/^http/, 'ws')}${path}?${q}`));
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
  private seen = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(String(data))));
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
