/**
 * One sector's full node, wired together: the SQLite store, the chain, the
 * mempool and the P2P transport, plus the sync and gossip rules that connect
 * them.
 *
 * Sync is headers-first: on a new peer (or an orphan block) we send our block
 * locator; the peer answers with up to MAX_HEADERS headers after the fork
 * point; we ask for the blocks we lack and feed them to the chain in order,
 * asking again while batches come back full. New blocks and txs are announced
 * with `inv`, fetched once, and relayed only when they were accepted.
 *
 * Block requests are bounded (node/block-requests.ts): at most
 * `maxRequestedBlocks` outstanding, so a long sync asks for the next headers
 * only once blocks come in; a request whose peer stalls past
 * `requestTimeoutMs`, or leaves, is released and the headers are asked of
 * another peer. Blocks from peers go through one ordered queue
 * (node/block-queue.ts) whose batches have their tx signatures verified on the
 * verify pool's worker threads before the chain, which stays synchronous,
 * accepts them one by one; signatures the mempool or the pool already
 * verified are answered from the signature cache (node/sig-cache.ts).
 *
 * Peers are remembered in the store: the URLs we dialed and the listen
 * addresses inbound peers announce, with when they were last seen and their
 * bans; at start the bans are restored and the configured peers and the best
 * remembered ones that are not banned are dialed.
 *
 * Consensus-invalid data bans the sender at once; what an honest peer can
 * send — a block from the future by our clock, a block we hold or lack the
 * parent of — costs little or nothing (BLOCK_REJECT_POINTS, docs/protocol.md).
 * No mining and no local API here.
 * @module
 */
import { toHex } from '../core/bytes.js';
import { decodeBlock, encodeBlock, type Block } from '../core/block.js';
import { CodecError } from '../core/errors.js';
import { genesisBlock, networkId as computeNetworkId } from '../core/genesis.js';
import { blockId } from '../core/header.js';
import type { NetworkSpec, SectorParams } from '../core/params.js';
import { genesisState } from '../core/state-transition.js';
import { decodeTx, encodeTx, txId, type Tx } from '../core/tx.js';
import { forkPoint, locatorHeights, MAX_HEADERS, MAX_INV, MAX_LOCATOR, WIRE_VERSION, type Message } from '../core/wire.js';
import { BlockQueue } from './block-queue.js';
import { BlockRequests } from './block-requests.js';
import { Chain, type Accepted } from './chain.js';
import { DEFAULT_MEMPOOL, Mempool } from './mempool.js';
import { MainRecordPool } from './record-pool.js';
import { BAN_SCORE, P2P, type Hello, type Peer } from './p2p.js';
import { cachedVerifier, SignatureCache } from './sig-cache.js';
import { openStore, type Store } from './store.js';
import { defaultVerifyThreads, VerifyPool } from './verify-pool.js';
import { fastVerifier } from '../platform/node/verify.js';

export interface SectorNodeOptions {
  spec: NetworkSpec;
  sector: SectorParams;
  /** SQLite file (or ':memory:'). */
  dbPath: string;
  host?: string;
  port?: number;
  peers?: string[];
  now?: () => number;
  /** Signature worker threads besides the event loop's (default availableParallelism() − 1; 0: verify in-thread). */
  verifyThreads?: number;
  /** Most block requests outstanding at once (default 4096). */
  maxRequestedBlocks?: number;
  /** A request whose peer delivered nothing for this long is released (default 30 000 ms). */
  requestTimeoutMs?: number;
}

/**
 * Score points for a block the chain refused, by code, for the codes an
 * honest peer can send; every other code is consensus-invalid data and costs
 * BAN_SCORE. Not listed because they are not failures: a block we already
 * hold (duplicate), one whose parent we lack (orphan: we ask that peer for
 * headers), one on a side branch. See docs/protocol.md §18.
 */
export const BLOCK_REJECT_POINTS: Readonly<Record<string, number>> = {
  // Our clock or the peer's is off, or the block is simply early: it may be valid in a few seconds.
  'time-too-new': 0,
  // We rejected this block before; rejecting it again costs one lookup, and the peer that
  // sent the first copy paid in full. Repeating it five times still bans.
  'block-known-invalid': 20,
};

/** Points a peer pays for a block rejected with `code`. */
export function blockRejectPoints(code: string): number {
  return BLOCK_REJECT_POINTS[code] ?? BAN_SCORE;
}

export type NodeEvent =
  | { type: 'block-connected'; height: number; id: string; txs: number }
  | { type: 'block-rejected'; id: string; code: string; detail: string; from?: string; points?: number }
  | { type: 'tx-accepted'; txid: string }
  | { type: 'peer'; address: string; event: 'ready' | 'closed'; reason?: string }
  /** A block from a peer could not be processed (the store failed); the node goes on. */
  | { type: 'error'; error: Error };

/** Remembered peers dialed at start, besides the configured ones. */
const REMEMBERED_PEERS_DIALED = 8;

/** Where a peer can be dialed: the URL we dialed, or the listen address an inbound peer announced. */
function dialableUrl(peer: Peer): string | undefined {
  const url = peer.outbound ? peer.address : peer.remote?.listen;
  return url && /^wss?:\/\//.test(url) && URL.canParse(url) ? url : undefined;
}

export class SectorNode {
  readonly store: Store;
  readonly chain: Chain;
  readonly mempool: Mempool;
  /** MAIN records this node was assigned, waiting for a block (filled by the edge client). */
  readonly records = new MainRecordPool();
  readonly p2p: P2P;
  readonly networkId: Uint8Array;
  readonly sigCache = new SignatureCache();
  /** Outstanding block requests to peers. */
  readonly requested: BlockRequests<Peer>;
  private readonly now: () => number;
  private listeners: ((e: NodeEvent) => void)[] = [];
  private pool?: VerifyPool;
  private queue?: BlockQueue<{ block: Block; peer: Peer; id: string }>;
  /** Hex ids of the blocks in the queue. */
  private readonly queued = new Set<string>();
  private sweeper?: ReturnType<typeof setInterval>;
  /** Peers whose headers we could not all request yet (no room), with the last id we did request. */
  private readonly resumeHeaders = new Map<Peer, Uint8Array | undefined>();
  /** Peers we sent get-headers to and have no answer from, with when we asked. */
  private readonly headersAsked = new Map<Peer, number>();

  constructor(readonly options: SectorNodeOptions) {
    const opts = options;
    const { spec, sector } = opts;
    this.now = opts.now ?? Date.now;
    this.networkId = computeNetworkId(spec);
    this.store = openStore(opts.dbPath, { limits: spec.limits });
    const genesis = genesisBlock(spec, sector);
    const gid = blockId(genesis.header);
    if (!this.store.tip()) this.store.initGenesis(genesis, gid, genesisState(spec, sector));
    this.requested = new BlockRequests<Peer>({
      max: opts.maxRequestedBlocks ?? 4096,
      timeoutMs: opts.requestTimeoutMs ?? 30_000,
      now: this.now,
    });
    const fast = fastVerifier();
    // Admission fills the cache; block validation consumes it (a cache miss verifies as before).
    this.chain = new Chain(this.store, {
      spec,
      sector,
      networkId: this.networkId,
      verify: cachedVerifier(this.sigCache, fast, { erase: true }),
      now: this.now,
    });
    this.mempool = new Mempool({ ...DEFAULT_MEMPOOL, networkId: this.networkId, chain: sector.id, verify: cachedVerifier(this.sigCache, fast) });
    this.p2p = new P2P({
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      networkId: this.networkId,
      sectorId: sector.id,
      genesisId: gid,
      hello: () => this.hello(),
      onMessage: (peer, m) => this.onMessage(peer, m),
      onPeer: (peer) => {
        this.emit({ type: 'peer', address: peer.address, event: 'ready' });
        const url = dialableUrl(peer);
        if (url) this.store.peers.upsert(url, { lastSeenMs: this.now(), failures: 0 });
        this.requestHeaders(peer);
      },
      onBan: (peer, _code, untilMs) => {
        const url = dialableUrl(peer);
        if (url) this.store.peers.ban(url, untilMs);
      },
      onClose: (peer, reason) => {
        this.emit({ type: 'peer', address: peer.address, event: 'closed', reason });
        this.peerGone(peer);
      },
    });
  }

  on(listener: (e: NodeEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: NodeEvent): void {
    for (const l of this.listeners) l(e);
  }

  async start(): Promise<number> {
    this.pool = new VerifyPool({ threads: this.options.verifyThreads ?? defaultVerifyThreads() });
    this.queue = new BlockQueue({
      networkId: this.networkId,
      cache: this.sigCache,
      pool: this.pool,
      blockOf: (item) => item.block,
      accept: (item) => {
        this.queued.delete(item.id);
        this.submitBlock(item.block, item.peer);
      },
      // One commit per batch: a crash loses at most the batch, which peers send again.
      transaction: (fn) => this.store.transaction(fn),
      onError: (e) => this.emit({ type: 'error', error: e as Error }),
    });
    let port: number;
    try {
      port = await this.p2p.start();
    } catch (e) {
      await this.queue.close();
      await this.pool.close();
      throw e;
    }
    const every = Math.max(50, Math.min(5_000, this.requested.timeoutMs / 2));
    this.sweeper = setInterval(() => this.sweepRequests(), every);
    this.sweeper.unref();
    // Bans outlive a restart: inbound peers from a banned host are still refused.
    for (const p of this.store.peers.list({ includeBanned: true })) {
      if (p.bannedUntilMs > this.now() && URL.canParse(p.url)) this.p2p.restoreBan(new URL(p.url).hostname, p.bannedUntilMs);
    }
    // The configured peers, then the best remembered ones that are not banned.
    const remembered = this.store.peers.list({ nowMs: this.now(), limit: REMEMBERED_PEERS_DIALED }).map((p) => p.url);
    for (const url of new Set([...(this.options.peers ?? []), ...remembered])) this.p2p.connect(url);
    return port;
  }

  /** Closes the peers, drops the blocks still queued, stops the verify workers and closes the store. */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.p2p.stop();
    await this.queue?.close();
    this.queued.clear();
    await this.pool?.close();
    this.store.close();
  }

  /** Worker threads verifying signatures (0 before start, or when verifying in-thread). */
  get verifyThreads(): number {
    return this.pool?.threads ?? 0;
  }

  /** A block neither held, nor asked for, nor waiting in the queue: worth fetching. */
  private unknownBlock(id: Uint8Array): boolean {
    const hex = toHex(id);
    // An empty queue holds nothing, whatever a failed batch left in the set.
    if ((this.queue?.pending ?? 0) === 0) this.queued.clear();
    return !this.store.hasBlock(id) && !this.requested.has(hex) && !this.queued.has(hex);
  }

  /** Resolves when every block received so far has been through the chain. */
  blocksIdle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private hello(): Hello {
    const tip = this.chain.tip();
    return {
      type: 'hello',
      version: WIRE_VERSION,
      networkId: this.networkId,
      sectorId: this.options.sector.id,
      genesisId: this.store.idAtHeight(0)!,
      tipHeight: tip.height,
      tipId: tip.id,
      listen: this.p2p.port ? `ws://${this.options.host ?? '127.0.0.1'}:${this.p2p.port}` : '',
    };
  }

  private locator(): Uint8Array[] {
    return locatorHeights(this.chain.tip().height).map((h) => this.store.idAtHeight(h)!);
  }

  /** Asks `peer` for headers after `after` (a header it sent us) or after our locator. */
  private requestHeaders(peer: Peer, after?: Uint8Array): void {
    const locator = after ? [after, ...this.locator()].slice(0, MAX_LOCATOR) : this.locator();
    this.headersAsked.set(peer, this.now());
    peer.send({ type: 'get-headers', locator, stop: new Uint8Array(32) });
  }

  /** Another ready peer than `not` if there is one, else `not` itself when still ready. */
  private otherPeer(not?: Peer): Peer | undefined {
    const ready = this.p2p.peers();
    return ready.find((p) => p !== not) ?? (not && ready.includes(not) ? not : undefined);
  }

  /** A peer left: its requests are released and the headers are asked of someone else. */
  private peerGone(peer: Peer): void {
    this.headersAsked.delete(peer);
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

  /** Once half the request slots are free, asks the peers we held back for their next headers. */
  private resumeSync(): void {
    if (this.resumeHeaders.size === 0 || this.requested.room() < this.requested.max / 2) return;
    const waiting = [...this.resumeHeaders];
    this.resumeHeaders.clear();
    for (const [peer, after] of waiting) if (peer.ready) this.requestHeaders(peer, after);
  }

  /**
   * Accepts a block from anywhere (the miner, the API, the peer queue) and
   * announces it when it moved the tip. A peer that sent it pays
   * `blockRejectPoints` for a rejection.
   */
  submitBlock(block: Block, from?: Peer): Accepted | undefined {
    const r = this.chain.accept(block);
    const id = toHex(blockId(block.header));
    if (!r.ok) {
      const points = from ? blockRejectPoints(r.code) : 0;
      this.emit({ type: 'block-rejected', id, code: r.code, detail: r.detail, ...(from ? { from: from.address, points } : {}) });
      if (from && points > 0) from.penalize(points, r.code);
      return undefined;
    }
    if (r.value.status === 'orphan' && from) {
      // Ask for the missing ancestors, unless they are on their way or a headers answer is.
      const asked = this.headersAsked.get(from);
      const answerDue = asked !== undefined && this.now() - asked < this.requested.timeoutMs;
      if (!this.requested.has(toHex(block.header.prevHash)) && !answerDue) this.requestHeaders(from);
    }
    if (r.value.status === 'connected') {
      // Txs of blocks a reorg took out wait for a block again, and are announced again: a peer may never
      // have seen them (the block that carried them may have been mined before the tx reached it).
      const returned: Uint8Array[] = [];
      for (const b of r.value.disconnected) {
        for (const tx of b.body.txs) if (this.mempool.add(tx, this.store, this.now()).ok) returned.push(txId(tx));
      }
      const included = r.value.connected.flatMap((b) => b.body.txs.map((t) => toHex(txId(t))));
      this.mempool.pruneAfterConnect(included, this.store);
      for (const b of r.value.disconnected) this.records.disconnected(b, toHex(blockId(b.header)));
      for (const b of r.value.connected) this.records.connected(b, toHex(blockId(b.header)));
      for (const b of r.value.connected) {
        this.emit({ type: 'block-connected', height: b.header.height, id: toHex(blockId(b.header)), txs: b.body.txs.length });
      }
      this.p2p.broadcast({ type: 'inv', kind: 'block', ids: [r.value.id] }, from);
      for (let i = 0; i < returned.length; i += MAX_INV) this.p2p.broadcast({ type: 'inv', kind: 'tx', ids: returned.slice(i, i + MAX_INV) });
    }
    return r.value;
  }

  /** Admits a tx to the mempool and announces it. */
  submitTx(tx: Tx, from?: Peer): { ok: true; txid: string } | { ok: false; code: string; detail: string } {
    const r = this.mempool.add(tx, this.store, this.now());
    if (!r.ok) {
      if (from && (r.code === 'tx-bad-signature' || r.code === 'tx-wrong-chain')) from.penalize(50, r.code);
      return r;
    }
    this.emit({ type: 'tx-accepted', txid: r.value.txid });
    this.p2p.broadcast({ type: 'inv', kind: 'tx', ids: [txId(tx)] }, from);
    return { ok: true, txid: r.value.txid };
  }

  private onMessage(peer: Peer, m: Message): void {
    switch (m.type) {
      case 'get-headers': {
        const fork = forkPoint(m.locator, (id) => this.store.isConnected(id)) ?? this.store.idAtHeight(0)!;
        const start = this.store.blockInfo(fork)!.height + 1;
        const headers = [];
        for (let h = start; h < start + MAX_HEADERS; h++) {
          const id = this.store.idAtHeight(h);
          if (!id) break;
          headers.push(this.store.getHeader(id)!);
          if (toHex(id) === toHex(m.stop)) break;
        }
        peer.send({ type: 'headers', headers });
        return;
      }
      case 'headers': {
        this.headersAsked.delete(peer);
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
        return;
      }
      case 'get-blocks':
        for (const id of m.ids) {
          // Blocks we rejected are not served: a peer asking for one was told about it by someone else.
          if (this.store.blockInfo(id)?.status === 'invalid') continue;
          const b = this.store.getBlock(id);
          if (b) peer.send({ type: 'block', block: encodeBlock(b, this.options.spec.limits) });
        }
        return;
      case 'block': {
        let block: Block;
        try {
          block = decodeBlock(m.block, this.options.spec.limits);
        } catch (e) {
          if (e instanceof CodecError) return peer.penalize(BAN_SCORE, e.code);
          throw e;
        }
        const id = toHex(blockId(block.header));
        this.requested.received(id, peer);
        this.resumeSync();
        if (this.queue) {
          // Until the chain has it, a queued block is neither held nor requested: do not fetch it again.
          this.queued.add(id);
          this.queue.push({ block, peer, id });
        } else {
          this.submitBlock(block, peer);
        }
        return;
      }
      case 'inv': {
        const unknown = m.ids.filter((id) =>
          m.kind === 'block' ? this.unknownBlock(id) : !this.mempool.has(toHex(id)),
        );
        if (unknown.length === 0) return;
        if (m.kind === 'block') {
          const ask = unknown.filter((id) => this.requested.add(toHex(id), peer));
          if (ask.length > 0) peer.send({ type: 'get-blocks', ids: ask });
        } else {
          peer.send({ type: 'get-txs', ids: unknown });
        }
        return;
      }
      case 'get-txs':
        for (const id of m.ids) {
          const e = this.mempool.get(toHex(id));
          if (e) peer.send({ type: 'tx', tx: encodeTx(e.tx) });
        }
        return;
      case 'tx': {
        let tx: Tx;
        try {
          tx = decodeTx(m.tx);
        } catch (e) {
          if (e instanceof CodecError) return peer.penalize(50, e.code);
          throw e;
        }
        this.submitTx(tx, peer);
        return;
      }
      default:
        return;
    }
  }
}
