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
 * and banned for `banMs`. What the messages mean (sync, gossip) is the
 * caller's business through `onMessage`.
 * @module
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { equalBytes } from '../core/bytes.js';
import { CodecError } from '../core/errors.js';
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, WIRE_VERSION, type Message } from '../core/wire.js';

export type Hello = Extract<Message, { type: 'hello' }>;

export const BAN_SCORE = 100;

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
  maxPeers?: number;
  handshakeTimeoutMs?: number;
  banMs?: number;
  /** Reconnect delay: starts here, doubles per failure, capped at maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

export class Peer {
  score = 0;
  remote?: Hello;
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

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.net.dropped(this, reason);
    this.ws.close(1000, reason.slice(0, 100));
  }
}

export class P2P {
  private server?: WebSocketServer;
  private readonly peerSet = new Set<Peer>();
  private readonly bans = new Map<string, number>();
  private readonly dialing = new Map<string, { timer?: ReturnType<typeof setTimeout>; delay: number }>();
  private stopped = false;
  port = 0;

  constructor(private readonly opts: P2POptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async start(): Promise<number> {
    this.server = new WebSocketServer({ host: this.opts.host, port: this.opts.port, maxPayload: MAX_MESSAGE_BYTES });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('listening', resolve);
      this.server!.once('error', reject);
    });
    this.port = (this.server.address() as { port: number }).port;
    this.server.on('connection', (ws, req) => {
      const address = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      if (this.isBanned(req.socket.remoteAddress ?? '') || this.peerSet.size >= (this.opts.maxPeers ?? 32)) {
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

  isBanned(host: string): boolean {
    const until = this.bans.get(host);
    return until !== undefined && until > this.now();
  }

  /** Dials `url` and keeps redialing with backoff while the node runs. */
  connect(url: string): void {
    if (this.stopped || this.dialing.has(url)) return;
    this.dialing.set(url, { delay: this.opts.backoffMs ?? 500 });
    this.dial(url);
  }

  private dial(url: string): void {
    const entry = this.dialing.get(url);
    if (!entry || this.stopped) return;
    const ws = new WebSocket(url, { maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: this.opts.handshakeTimeoutMs ?? 5000 });
    const retry = () => {
      if (this.stopped || !this.dialing.has(url)) return;
      entry.timer = setTimeout(() => this.dial(url), entry.delay);
      entry.delay = Math.min(entry.delay * 2, this.opts.maxBackoffMs ?? 30_000);
    };
    // An error is always followed by 'close', where the retry is scheduled.
    ws.on('error', () => {});
    ws.once('open', () => {
      entry.delay = this.opts.backoffMs ?? 500;
      this.attach(ws, url, true);
    });
    ws.once('close', () => {
      if (!this.isBanned(new URL(url).hostname)) retry();
    });
  }

  private attach(ws: WebSocket, address: string, outbound: boolean): Peer {
    const peer = new Peer(address, outbound, ws, this);
    this.peerSet.add(peer);
    const timer = setTimeout(() => {
      if (!peer.remote) peer.close('handshake-timeout');
    }, this.opts.handshakeTimeoutMs ?? 5000);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return peer.penalize(BAN_SCORE, 'text-frame');
      const frame = data instanceof Buffer ? data : Buffer.concat(data as Buffer[]);
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
        peer.remote = m;
        clearTimeout(timer);
        this.opts.onPeer?.(peer);
        return;
      }
      if (m.type === 'ping') return peer.send({ type: 'pong', nonce: m.nonce });
      this.opts.onMessage(peer, m);
    });
    ws.on('close', () => {
      clearTimeout(timer);
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
    this.bans.set(host, this.now() + (this.opts.banMs ?? 10 * 60_000));
    if (peer.outbound) this.dialing.delete(peer.address);
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
