/**
 * WebSocket transport between the nodes of one sector: listening, dialing
 * with backoff, the hello handshake, framing through core/wire, and
 * misbehaviour scores with bans.
 *
 * A connection is useful only after both sides sent a `hello` that names the
 * same network id, sector id, genesis id and wire version; anything else is
 * refused with a `reject` and closed. Frames above MAX_MESSAGE_BYTES are cut
 * by the WebSocket layer; frames that do not decode, or messages before the
 * handshake, cost score points, and a peer reaching BAN_SCORE is disconnected
 * and banned for `banMs`. A ban hits the peer, not its host: a peer we dialed
 * is banned by its URL (we stop dialing it; other nodes on the same host are
 * dialed as before), one that dialed us by its address and port. A host
 * whose peers were banned `hostBanAfter` times within `banMs` is refused as a
 * whole (a peer that reconnects under a new port keeps paying). Each peer has a token bucket for messages and one
 * for bytes: a peer that sends faster is not punished but paused (its socket
 * stops being read, so TCP pushes back) until its buckets refill. The whole
 * network can be switched off and on (`setActive`), which drops every peer
 * and refuses new ones until it is on again. What the messages mean (sync,
 * gossip) is the caller's business through `onMessage`.
 * @module
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { equalBytes } from '../core/bytes.js';
import { CodecError } from '../core/errors.js';
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, WIRE_VERSION, type Message } from '../core/wire.js';

export type Hello = Extract<Message, { type: 'hello' }>;

export const BAN_SCORE = 100;

/** Per-peer receive limits: sustained rates and bursts. */
export interface RateLimits {
  messagesPerSecond: number;
  burstMessages: number;
  bytesPerSecond: number;
  burstBytes: number;
}

/** Generous enough for a full-speed sync of small blocks, tight enough that one peer cannot hog the event loop. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  messagesPerSecond: 2_000,
  burstMessages: 8_000,
  bytesPerSecond: 32 << 20,
  burstBytes: 2 * MAX_MESSAGE_BYTES,
};

/** A token bucket: `take` spends, and says how long to wait (ms) before the balance is back to zero. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(amount: number, now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }
}

export interface P2POptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  networkId: Uint8Array;
  sectorId: number;
  genesisId: Uint8Array;
  /** Our hello, with the current tip. */
  hello: () => Hello;
  onMessage: (peer: Peer, message: Message) => void;
  onPeer?: (peer: Peer) => void;
  onClose?: (peer: Peer, reason: string) => void;
  /** A peer was banned until `untilMs` (for persisting the ban). */
  onBan?: (peer: Peer, code: string, untilMs: number) => void;
  maxPeers?: number;
  rateLimits?: RateLimits;
  handshakeTimeoutMs?: number;
  banMs?: number;
  /** Bans of a host's peers within `banMs` after which the host is refused (default 3). */
  hostBanAfter?: number;
  /** Reconnect delay: starts here, doubles per failure, capped at maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

export class Peer {
  score = 0;
  remote?: Hello;
  /** Received messages and bytes, and how many times the peer was paused for going over its limits. */
  readonly stats = { messages: 0, bytes: 0, throttled: 0 };
  private closed = false;

  constructor(
    readonly address: string,
    readonly outbound: boolean,
    private readonly ws: WebSocket,
    private readonly net: P2P,
  ) {}

  get ready(): boolean {
    return this.remote !== undefined && !this.closed;
  }

  send(m: Message): void {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeMessage(m));
  }

  /** Adds misbehaviour points; at BAN_SCORE the peer is banned and dropped. */
  penalize(points: number, code: string): void {
    this.score += points;
    if (this.score >= BAN_SCORE) this.net.ban(this, code);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.net.dropped(this, reason);
    // A socket paused by the rate limit must read again to see the closing handshake.
    this.ws.resume();
    this.ws.close(1000, reason.slice(0, 100));
  }
}

export class P2P {
  private server?: WebSocketServer;
  private readonly peerSet = new Set<Peer>();
  /** Banned peers (dialed URL, or address:port of an inbound one) until when. */
  private readonly bans = new Map<string, number>();
  /** Per host, the end of each of its peers' bans. */
  private readonly hostStrikes = new Map<string, number[]>();
  /** Dial targets: the retry timer, the current delay, and the socket of the attempt or connection in progress. */
  private readonly dialing = new Map<string, { timer?: ReturnType<typeof setTimeout>; delay: number; ws?: WebSocket }>();
  private stopped = false;
  private active = true;
  port = 0;

  constructor(private readonly opts: P2POptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async start(): Promise<number> {
    // A refused host is turned away at the HTTP upgrade (403), before a WebSocket exists
    // and before any frame it already sent is read.
    const refused = (host: string) => !this.active || this.isHostBanned(host) || this.peerSet.size >= (this.opts.maxPeers ?? 32);
    this.server = new WebSocketServer({
      host: this.opts.host,
      port: this.opts.port,
      maxPayload: MAX_MESSAGE_BYTES,
      verifyClient: (info: { req: { socket: { remoteAddress?: string } } }, done: (ok: boolean, code?: number, message?: string) => void) =>
        refused(info.req.socket.remoteAddress ?? '') ? done(false, 403, 'refused') : done(true),
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('listening', resolve);
      this.server!.once('error', reject);
    });
    this.port = (this.server.address() as { port: number }).port;
    this.server.on('connection', (ws, req) => {
      const address = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      // Checked again: the state may have changed while the upgrade completed.
      if (refused(req.socket.remoteAddress ?? '')) {
        ws.close(1008, 'refused');
        return;
      }
      this.attach(ws, address, false);
    });
    return this.port;
  }

  peers(): Peer[] {
    return [...this.peerSet].filter((p) => p.ready);
  }

  /** Bans the peer `key` (a URL we dial) until `untilMs`: a ban remembered from before a restart; a later ban wins. */
  restoreBan(key: string, untilMs: number): void {
    if (untilMs > (this.bans.get(key) ?? 0)) this.bans.set(key, untilMs);
  }

  /** Whether the peer `key` (a dialed URL, or the address:port of an inbound peer) is banned. */
  isBanned(key: string): boolean {
    const until = this.bans.get(key);
    return until !== undefined && until > this.now();
  }

  /** Whether `host` as a whole is refused: `hostBanAfter` of its peers were banned within `banMs`. */
  isHostBanned(host: string): boolean {
    const now = this.now();
    const live = (this.hostStrikes.get(host) ?? []).filter((until) => until > now);
    if (live.length === 0) this.hostStrikes.delete(host);
    else this.hostStrikes.set(host, live);
    return live.length >= (this.opts.hostBanAfter ?? 3);
  }

  /** The bans in force, by peer key. */
  banList(): { key: string; untilMs: number }[] {
    const now = this.now();
    return [...this.bans].filter(([, until]) => until > now).map(([key, untilMs]) => ({ key, untilMs }));
  }

  get isActive(): boolean {
    return this.active;
  }

  /** URLs dialed (and redialed) while the network is active. */
  dialTargets(): string[] {
    return [...this.dialing.keys()];
  }

  /** Dials `url` and keeps redialing with backoff while the node runs. */
  connect(url: string): void {
    if (this.stopped || this.dialing.has(url)) return;
    this.dialing.set(url, { delay: this.opts.backoffMs ?? 500 });
    this.dial(url);
  }

  /**
   * Off: drops every peer, stops redialing (the targets are kept) and refuses
   * inbound connections. On: dials the kept targets again at once.
   */
  setActive(active: boolean): void {
    if (this.stopped || active === this.active) return;
    this.active = active;
    for (const [url, d] of this.dialing) {
      if (d.timer) clearTimeout(d.timer);
      d.timer = undefined;
      d.delay = this.opts.backoffMs ?? 500;
      // Off: attempts still connecting are cut too, not only connected peers.
      if (!active && d.ws?.readyState === WebSocket.CONNECTING) d.ws.terminate();
      if (active) this.dial(url);
    }
    if (!active) for (const p of [...this.peerSet]) p.close('network off');
  }

  private dial(url: string): void {
    const entry = this.dialing.get(url);
    if (!entry || this.stopped || !this.active) return;
    // One socket per target: an attempt in progress or a live connection is not doubled.
    if (entry.ws && entry.ws.readyState !== WebSocket.CLOSED) return;
    const ws = new WebSocket(url, { maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: this.opts.handshakeTimeoutMs ?? 5000 });
    entry.ws = ws;
    const retry = () => {
      if (this.stopped || this.dialing.get(url) !== entry || entry.timer) return;
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        this.dial(url);
      }, entry.delay);
      entry.delay = Math.min(entry.delay * 2, this.opts.maxBackoffMs ?? 30_000);
    };
    // An error is always followed by 'close', where the retry is scheduled.
    ws.on('error', () => {});
    ws.once('open', () => {
      // The network went off (or the node stopped) while this attempt was connecting.
      if (!this.active || this.stopped) return ws.terminate();
      entry.delay = this.opts.backoffMs ?? 500;
      this.attach(ws, url, true);
    });
    ws.once('close', () => {
      if (entry.ws === ws) entry.ws = undefined;
      if (this.active && !this.isBanned(url) && !this.isHostBanned(new URL(url).hostname)) retry();
    });
  }

  private attach(ws: WebSocket, address: string, outbound: boolean): Peer {
    const peer = new Peer(address, outbound, ws, this);
    this.peerSet.add(peer);
    const timer = setTimeout(() => {
      if (!peer.remote) peer.close('handshake-timeout');
    }, this.opts.handshakeTimeoutMs ?? 5000);
    const limits = this.opts.rateLimits ?? DEFAULT_RATE_LIMITS;
    const now = this.now();
    const messageBucket = new TokenBucket(limits.messagesPerSecond, limits.burstMessages, now);
    const byteBucket = new TokenBucket(limits.bytesPerSecond, limits.burstBytes, now);
    // Frames waiting for their turn while the peer is over its limits.
    const queue: Buffer[] = [];
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    const handle = (frame: Buffer): void => {
      let m: Message;
      try {
        m = decodeMessage(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      } catch (e) {
        if (e instanceof CodecError) return peer.penalize(25, e.code);
        throw e;
      }
      if (!peer.remote) {
        if (m.type !== 'hello') return peer.penalize(BAN_SCORE, 'no-handshake');
        const problem = this.checkHello(m);
        if (problem) {
          peer.send({ type: 'reject', code: 'handshake-mismatch', detail: problem });
          return peer.close(`handshake-mismatch: ${problem}`);
        }
        // A peer we banned by its URL, dialing us: refused too (claiming a banned URL only gets the claimant refused).
        if (!outbound && m.listen !== '' && this.isBanned(m.listen)) return peer.close('banned-peer');
        peer.remote = m;
        clearTimeout(timer);
        this.opts.onPeer?.(peer);
        return;
      }
      if (m.type === 'ping') return peer.send({ type: 'pong', nonce: m.nonce });
      this.opts.onMessage(peer, m);
    };
    /** Handles queued frames while the buckets allow; when one leaves them in debt, waits it out. */
    const drain = (): void => {
      drainTimer = undefined;
      while (queue.length > 0 && !peer.isClosed) {
        const frame = queue.shift()!;
        const t = this.now();
        const wait = Math.max(messageBucket.take(1, t), byteBucket.take(frame.byteLength, t));
        handle(frame);
        if (wait > 0) {
          peer.stats.throttled++;
          drainTimer = setTimeout(drain, wait);
          return;
        }
      }
      if (ws.isPaused) ws.resume();
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (peer.isClosed) return;
      if (!isBinary) return peer.penalize(BAN_SCORE, 'text-frame');
      const frame = data instanceof Buffer ? data : Buffer.concat(data as Buffer[]);
      peer.stats.messages++;
      peer.stats.bytes += frame.byteLength;
      queue.push(frame);
      // Over the limits: stop reading the socket too, so TCP pushes back on the sender.
      if (drainTimer) {
        if (!ws.isPaused) ws.pause();
        return;
      }
      drain();
    });
    ws.on('close', () => {
      clearTimeout(timer);
      clearTimeout(drainTimer);
      queue.length = 0;
      peer.close('connection closed');
    });
    ws.on('error', () => peer.close('socket error'));
    if (ws.readyState === WebSocket.OPEN) peer.send(this.opts.hello());
    else ws.once('open', () => peer.send(this.opts.hello()));
    return peer;
  }

  private checkHello(h: Hello): string | null {
    if (h.version !== WIRE_VERSION) return `wire version ${h.version}, expected ${WIRE_VERSION}`;
    if (!equalBytes(h.networkId, this.opts.networkId)) return 'another network';
    if (h.sectorId !== this.opts.sectorId) return `sector ${h.sectorId}, expected ${this.opts.sectorId}`;
    if (!equalBytes(h.genesisId, this.opts.genesisId)) return 'another genesis';
    return null;
  }

  /** Sends to every ready peer but `except`. */
  broadcast(m: Message, except?: Peer): void {
    for (const p of this.peers()) if (p !== except) p.send(m);
  }

  ban(peer: Peer, code: string): void {
    const host = peer.outbound ? new URL(peer.address).hostname : peer.address.replace(/:\d+$/, '');
    const until = this.now() + (this.opts.banMs ?? 10 * 60_000);
    this.bans.set(peer.address, until);
    this.hostStrikes.set(host, [...(this.hostStrikes.get(host) ?? []), until]);
    if (peer.outbound) this.dialing.delete(peer.address);
    this.opts.onBan?.(peer, code, until);
    peer.close(`banned: ${code}`);
  }

  /** Called by Peer.close. */
  dropped(peer: Peer, reason: string): void {
    // A peer of another network or sector will not become one: stop redialing it.
    if (peer.outbound && reason.startsWith('handshake-mismatch')) this.dialing.delete(peer.address);
    if (this.peerSet.delete(peer)) this.opts.onClose?.(peer, reason);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.dialing.values()) if (d.timer) clearTimeout(d.timer);
    this.dialing.clear();
    for (const p of [...this.peerSet]) p.close('shutting down');
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
