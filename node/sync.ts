/**
 * The sector P2P protocol, as Bitcoin Core's net_processing does it: one
 * handler per message, the headers-first bookkeeping, block and tx gossip,
 * and what a peer pays for what we refuse.
 *
 * Sync is headers-first: on a new peer (or an orphan block) we send our block
 * locator; the peer answers with up to MAX_HEADERS headers after the fork
 * point; the chain judges them (`Chain.acceptHeaders`: they must connect,
 * hold their proof of work, bits and time, and lead to a branch with the work
 * to matter) and we ask only for the blocks of headers it took, feeding them
 * to the chain in order, asking again while batches come back full. A block
 * that arrives is put through the same header judgement before it is queued:
 * one whose parent we do not know is not kept, and we ask its sender for the
 * headers that lead to it instead. A peer that keeps sending what does not
 * connect (MAX_UNCONNECTING in a row) pays for each further one. New blocks
 * and txs are announced with `inv`, fetched once, and relayed only when they
 * were accepted.
 *
 * Block requests are bounded (node/block-requests.ts): at most
 * `maxRequestedBlocks` outstanding, so a long sync asks for the next headers
 * only once blocks come in; a request whose peer stalls past
 * `requestTimeoutMs`, or leaves, is released and the headers are asked of
 * another peer. Blocks from peers go through one ordered queue
 * (node/block-queue.ts) whose batches have their tx signatures verified on the
 * verify pool's worker threads before the chain, which stays synchronous,
 * accepts them one by one. A peer block's id is computed once, when it is
 * decoded, and carried to the chain and the store.
 *
 * It subscribes to the chain's `tip-moved` events, whatever moved the tip
 * (a peer's block, the miner's, the API's): it announces the new tip to every
 * peer but the one that sent it, and announces again the txs of disconnected
 * blocks that the mempool took back (a peer may never have seen them).
 *
 * Penalties come from the refusal's class (node/penalties.ts): consensus-
 * invalid data bans the sender at once; what an honest peer can send — a
 * block from the future by our clock, one we lack the parent of — costs
 * nothing.
 *
 * What it does not do: own the chain, the mempool or the store (SectorNode
 * wires those), or decide validity (core and the chain do).
 * @module
 */
import { toHex } from '../core/bytes.js';
import { decodeBlock, encodeBlock, type Block } from '../core/block.js';
import { CodecError, type Result } from '../core/errors.js';
import type { NetworkSpec } from '../core/params.js';
import { decodeTx, encodeTx, txId, type Tx } from '../core/tx.js';
import { blockId } from '../core/header.js';
import { forkPoint, locatorHeights, MAX_HEADERS, MAX_INV, MAX_LOCATOR, type Message } from '../core/wire.js';
import { BlockQueue } from './block-queue.js';
import { BlockRequests } from './block-requests.js';
import type { Chain, TipMoved } from './chain.js';
import type { Mempool } from './mempool.js';
import { BAN_SCORE, type P2P, type Peer } from './p2p.js';
import { blockRejectPoints, txRejectPoints, type BlockRejectCode, type TxRejectCode } from './penalties.js';
import type { SignatureCache } from './sig-cache.js';
import type { Store } from './store.js';
import type { VerifyPool } from './verify-pool.js';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

/** Unconnecting headers messages or blocks a peer may send in a row before each costs it points. */
export const MAX_UNCONNECTING = 8;
/** Points per unconnecting message beyond MAX_UNCONNECTING (five more ban). */
export const UNCONNECTING_POINTS = 20;

/** What the protocol needs of the node it runs in. */
export interface SyncDeps {
  spec: NetworkSpec;
  networkId: Uint8Array;
  store: Store;
  chain: Chain<Peer>;
  mempool: Mempool;
  p2p: P2P;
  sigCache: SignatureCache;
  now: () => number;
  /** Admits a tx to the mempool (and says so); the protocol relays it. */
  admitTx(tx: Tx): Result<{ txid: string }, TxRejectCode>;
  /** A block from `from` refused by the chain, with what the peer paid. */
  onBlockRejected(e: { id: string; code: string; detail: string; from: string; points: number }): void;
  /** A block from a peer could not be processed (the store failed). */
  onError(e: Error): void;
  /** Most block requests outstanding at once (default 4096). */
  maxRequestedBlocks?: number;
  /** A request whose peer delivered nothing for this long is released (default 30 000 ms). */
  requestTimeoutMs?: number;
}

export class Sync {
  /** Outstanding block requests to peers. */
  readonly requested: BlockRequests<Peer>;
  private queue?: BlockQueue<{ block: Block; peer: Peer; id: Uint8Array; hex: string; bytes: number }>;
  /** Hex ids of the blocks in the queue. */
  private readonly queued = new Set<string>();
  private sweeper?: ReturnType<typeof setInterval>;
  /** Peers whose headers we could not all request yet (no room), with the last id we did request. */
  private readonly resumeHeaders = new Map<Peer, Uint8Array | undefined>();
  /** Peers we sent get-headers to and have no answer from, with when we asked. */
  private readonly headersAsked = new Map<Peer, number>();
  /** Unconnecting headers messages and blocks in a row, per peer. */
  private readonly unconnecting = new Map<Peer, number>();

  constructor(private readonly deps: SyncDeps) {
    this.requested = new BlockRequests<Peer>({ max: deps.maxRequestedBlocks ?? 4096, timeoutMs: deps.requestTimeoutMs ?? 30_000, now: deps.now });
    deps.chain.on((e) => this.onTipMoved(e));
  }

  /** Starts the peer block queue on `pool` and the sweep of stalled requests. */
  start(pool: VerifyPool): void {
    this.queue = new BlockQueue({
      networkId: this.deps.networkId,
      cache: this.deps.sigCache,
      pool,
      blockOf: (item) => item.block,
      accept: (item) => {
        this.queued.delete(item.hex);
        this.acceptFromPeer(item.block, item.id, item.peer, item.bytes);
      },
      // One commit per batch: a crash loses at most the batch, which peers send again.
      transaction: (fn) => this.deps.store.transaction(fn),
      onError: (e) => this.deps.onError(e as Error),
    });
    const every = Math.max(50, Math.min(5_000, this.requested.timeoutMs / 2));
    this.sweeper = setInterval(() => this.sweepRequests(), every);
    this.sweeper.unref();
  }

  /** Stops the sweep and drops the blocks still queued. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.queue?.close();
    this.queued.clear();
  }

  /** Resolves when every block received so far has been through the chain. */
  blocksIdle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  // ---- peers coming and going ----

  /** A peer finished its handshake: ask it what it has. */
  peerReady(peer: Peer): void {
    this.requestHeaders(peer);
  }

  /** A peer left: its requests are released and the headers are asked of someone else. */
  peerGone(peer: Peer): void {
    this.headersAsked.delete(peer);
    this.unconnecting.delete(peer);
    this.deps.chain.forgetOrigin(peer);
    this.resumeHeaders.delete(peer);
    const released = this.requested.dropPeer(peer);
    if (released.length > 0) {
      const other = this.otherPeer();
      if (other) this.requestHeaders(other);
    }
  }

  /** Releases stalled requests and asks another peer (the same one if alone) for the headers again. */
  sweepRequests(): void {
    const expired = this.requested.expire();
    const stalled = new Set(expired.map((e) => e.peer));
    for (const p of stalled) {
      const other = this.otherPeer(p);
      if (other) this.requestHeaders(other);
    }
    this.resumeSync();
  }

  // ---- messages: one handler each ----

  onMessage(peer: Peer, m: Message): void {
    switch (m.type) {
      case 'get-headers':
        return this.onGetHeaders(peer, m);
      case 'headers':
        return this.onHeaders(peer, m);
      case 'get-blocks':
        return this.onGetBlocks(peer, m);
      case 'block':
        return this.onBlock(peer, m);
      case 'inv':
        return this.onInv(peer, m);
      case 'get-txs':
        return this.onGetTxs(peer, m);
      case 'tx':
        return this.onTx(peer, m);
      default:
        return;
    }
  }

  /** Our best chain after the fork point of the peer's locator, up to MAX_HEADERS. */
  private onGetHeaders(peer: Peer, m: Msg<'get-headers'>): void {
    const { store } = this.deps;
    const fork = forkPoint(m.locator, (id) => store.isConnected(id)) ?? store.idAtHeight(0)!;
    const start = store.blockInfo(fork)!.height + 1;
    const headers = [];
    for (let h = start; h < start + MAX_HEADERS; h++) {
      const id = store.idAtHeight(h);
      if (!id) break;
      headers.push(store.getHeader(id)!);
      if (toHex(id) === toHex(m.stop)) break;
    }
    peer.send({ type: 'headers', headers });
  }

  /** The blocks of these headers that we neither hold nor wait for, as far as requests have room. */
  private onHeaders(peer: Peer, m: Msg<'headers'>): void {
    this.headersAsked.delete(peer);
    if (m.headers.length === 0) return;
    if (!this.judged(peer, this.deps.chain.acceptHeaders(m.headers))) return;
    const ids = m.headers.map((h) => blockId(h));
    const wanted = ids.filter((id) => this.unknownBlock(id));
    const ask = wanted.slice(0, this.requested.room());
    for (let i = 0; i < ask.length; i += MAX_INV) {
      const batch = ask.slice(i, i + MAX_INV).filter((id) => this.requested.add(toHex(id), peer));
      if (batch.length > 0) peer.send({ type: 'get-blocks', ids: batch });
    }
    if (ask.length < wanted.length) {
      // No room for the rest: ask again from the last header requested, once blocks come in.
      const first = ids.findIndex((id) => id === wanted[ask.length]);
      this.resumeHeaders.set(peer, first > 0 ? ids[first - 1] : undefined);
    } else if (m.headers.length === MAX_HEADERS) {
      this.requestHeaders(peer, ids[ids.length - 1]!);
    }
  }

  /**
   * What the chain made of a peer's headers (or a block's): true when they
   * connect and are worth fetching. Refusals cost their class's points; what
   * does not connect makes us ask for the headers leading to it, and costs
   * points once the peer has sent MAX_UNCONNECTING such in a row.
   */
  private judged(peer: Peer, r: ReturnType<Chain<Peer>['acceptHeaders']>): boolean {
    if (!r.ok) {
      const points = blockRejectPoints(r.code);
      if (points > 0) peer.penalize(points, r.code);
      return false;
    }
    if (r.value.status === 'unconnected') {
      const n = (this.unconnecting.get(peer) ?? 0) + 1;
      this.unconnecting.set(peer, n);
      if (n > MAX_UNCONNECTING) peer.penalize(UNCONNECTING_POINTS, 'unconnecting-headers');
      if (!this.answerDue(peer)) this.requestHeaders(peer);
      return false;
    }
    this.unconnecting.delete(peer);
    // Too little work to be worth the fetch: an honest peer on a stale branch sends this too.
    return r.value.status === 'connected';
  }

  private answerDue(peer: Peer): boolean {
    const asked = this.headersAsked.get(peer);
    return asked !== undefined && this.deps.now() - asked < this.requested.timeoutMs;
  }

  private onGetBlocks(peer: Peer, m: Msg<'get-blocks'>): void {
    const { store, spec } = this.deps;
    for (const id of m.ids) {
      // Blocks we rejected are not served: a peer asking for one was told about it by someone else.
      if (store.blockInfo(id)?.status === 'invalid') continue;
      const b = store.getBlock(id);
      if (b) peer.send({ type: 'block', block: encodeBlock(b, spec.limits) });
    }
  }

  private onBlock(peer: Peer, m: Msg<'block'>): void {
    let block: Block;
    try {
      block = decodeBlock(m.block, this.deps.spec.limits);
    } catch (e) {
      if (e instanceof CodecError) return peer.penalize(blockRejectPoints(e.code), e.code);
      throw e;
    }
    // The one place a peer block's id is computed; the chain and the store are handed it.
    const id = blockId(block.header);
    const hex = toHex(id);
    this.requested.received(hex, peer);
    this.resumeSync();
    // Headers first, for blocks too: one that does not connect, or leads nowhere worth the work, is not kept.
    if (!this.deps.store.hasBlock(id)) {
      const judged = this.deps.chain.acceptHeaders([block.header]);
      if (!judged.ok) return this.refused(peer, hex, judged);
      if (!this.judged(peer, judged)) return;
    }
    if (this.queue) {
      // Until the chain has it, a queued block is neither held nor requested: do not fetch it again.
      this.queued.add(hex);
      this.queue.push({ block, peer, id, hex, bytes: m.block.length });
    } else {
      this.acceptFromPeer(block, id, peer, m.block.length);
    }
  }

  private onInv(peer: Peer, m: Msg<'inv'>): void {
    const unknown = m.ids.filter((id) => (m.kind === 'block' ? this.unknownBlock(id) : !this.deps.mempool.has(toHex(id))));
    if (unknown.length === 0) return;
    if (m.kind === 'block') {
      const ask = unknown.filter((id) => this.requested.add(toHex(id), peer));
      if (ask.length > 0) peer.send({ type: 'get-blocks', ids: ask });
    } else {
      peer.send({ type: 'get-txs', ids: unknown });
    }
  }

  private onGetTxs(peer: Peer, m: Msg<'get-txs'>): void {
    for (const id of m.ids) {
      const e = this.deps.mempool.get(toHex(id));
      if (e) peer.send({ type: 'tx', tx: encodeTx(e.tx) });
    }
  }

  private onTx(peer: Peer, m: Msg<'tx'>): void {
    let tx: Tx;
    try {
      tx = decodeTx(m.tx);
    } catch (e) {
      if (e instanceof CodecError) return peer.penalize(txRejectPoints(e.code), e.code);
      throw e;
    }
    const r = this.deps.admitTx(tx);
    if (!r.ok) {
      const points = txRejectPoints(r.code);
      if (points > 0) peer.penalize(points, r.code);
      return;
    }
    this.announceTx(tx, peer);
  }

  // ---- what we announce ----

  /** Announces an accepted tx to every peer but `from`. */
  announceTx(tx: Tx, from?: Peer): void {
    this.deps.p2p.broadcast({ type: 'inv', kind: 'tx', ids: [txId(tx)] }, from);
  }

  private onTipMoved(e: TipMoved<Peer>): void {
    this.deps.p2p.broadcast({ type: 'inv', kind: 'block', ids: [e.tip] }, e.origin);
    const returned = e.disconnected.flatMap((b) => b.block.body.txs.map(txId)).filter((id) => this.deps.mempool.has(toHex(id)));
    for (let i = 0; i < returned.length; i += MAX_INV) this.deps.p2p.broadcast({ type: 'inv', kind: 'tx', ids: returned.slice(i, i + MAX_INV) });
  }

  // ---- headers-first bookkeeping ----

  /** A peer's block through the chain: a refusal costs what its class says; an orphan asks for its ancestors. */
  private acceptFromPeer(block: Block, id: Uint8Array, peer: Peer, bytes: number): void {
    // A peer dropped while its block waited in the queue: what it sent is not worth the work any more.
    if (peer.isClosed && peer.score >= BAN_SCORE) return;
    const r = this.deps.chain.accept(block, { id, origin: peer, bytes });
    if (!r.ok) return this.refused(peer, toHex(id), r);
    if (r.value.status === 'orphan') {
      // Ask for the missing ancestors, unless they are on their way or a headers answer is.
      if (!this.requested.has(toHex(block.header.prevHash)) && !this.answerDue(peer)) this.requestHeaders(peer);
    }
  }

  /** A peer's block refused, by its header or by the chain (now, or once held settlements were judged): reported, and charged what its class says. */
  refused(peer: Peer, id: string, r: { code: BlockRejectCode; detail: string }): void {
    const points = blockRejectPoints(r.code);
    this.deps.onBlockRejected({ id, code: r.code, detail: r.detail, from: peer.address, points });
    if (points > 0) peer.penalize(points, r.code);
  }

  /** A block neither held, nor asked for, nor waiting in the queue: worth fetching. */
  private unknownBlock(id: Uint8Array): boolean {
    const hex = toHex(id);
    // An empty queue holds nothing, whatever a failed batch left in the set.
    if ((this.queue?.pending ?? 0) === 0) this.queued.clear();
    return !this.deps.store.hasBlock(id) && !this.deps.chain.isHeld(id) && !this.requested.has(hex) && !this.queued.has(hex);
  }

  private locator(): Uint8Array[] {
    return locatorHeights(this.deps.chain.tip().height).map((h) => this.deps.store.idAtHeight(h)!);
  }

  /** Asks `peer` for headers after `after` (a header it sent us) or after our locator. */
  private requestHeaders(peer: Peer, after?: Uint8Array): void {
    const locator = after ? [after, ...this.locator()].slice(0, MAX_LOCATOR) : this.locator();
    this.headersAsked.set(peer, this.deps.now());
    peer.send({ type: 'get-headers', locator, stop: new Uint8Array(32) });
  }

  /** Another ready peer than `not` if there is one, else `not` itself when still ready. */
  private otherPeer(not?: Peer): Peer | undefined {
    const ready = this.deps.p2p.peers();
    return ready.find((p) => p !== not) ?? (not && ready.includes(not) ? not : undefined);
  }

  /** Once half the request slots are free, asks the peers we held back for their next headers. */
  private resumeSync(): void {
    if (this.resumeHeaders.size === 0 || this.requested.room() < this.requested.max / 2) return;
    const waiting = [...this.resumeHeaders];
    this.resumeHeaders.clear();
    for (const [peer, after] of waiting) if (peer.ready) this.requestHeaders(peer, after);
  }
}
