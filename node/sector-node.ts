/**
 * One sector's full node, wired together: the SQLite store, the chain, the
 * mempool, the record pool, the P2P transport and the sync protocol
 * (node/sync.ts: headers-first sync, gossip and penalties, one handler per
 * message). This file is the composition root and owns what follows a move
 * of the best chain, whoever caused it: txs of disconnected blocks go back to
 * the mempool, included ones leave it, the record pool follows, and a
 * `block-connected` event goes out per connected block.
 *
 * Peers are remembered in the store: the URLs we dialed and the listen
 * addresses inbound peers announce, with when they were last seen and their
 * bans; at start the bans are restored and the configured peers and the best
 * remembered ones that are not banned are dialed.
 *
 * With a MAIN view attached (`attachMain`), the chain judges settlements
 * against it, held blocks are retried whenever it completes more windows,
 * and `settlementsForBlock` gives the miner the releases owed next.
 *
 * No mining and no local API here.
 * @module
 */
import { toHex } from '../core/bytes.js';
import type { Block } from '../core/block.js';
import { PouwError, type Result } from '../core/errors.js';
import { genesisBlock, networkId as computeNetworkId } from '../core/genesis.js';
import { blockId } from '../core/header.js';
import type { NetworkSpec, SectorParams, WorkKind } from '../core/params.js';
import { matchSettlements, encodeSettlement, settlementOf } from '../core/settlement.js';
import { blockWindowOf } from '../core/record.js';
import { matmulTaskVerdict } from '../core/task.js';
import { genesisState, treasuryAddress } from '../core/state-transition.js';
import { txId, type Tx } from '../core/tx.js';
import { WIRE_VERSION } from '../core/wire.js';
import { fastVerifier } from '../platform/node/verify.js';
import { Chain, type Accepted, type TipMoved } from './chain.js';
import type { MainView } from './main-view.js';
import { DEFAULT_MEMPOOL, Mempool } from './mempool.js';
import { P2P, type Hello, type Peer } from './p2p.js';
import type { TxRejectCode } from './penalties.js';
import { MainRecordPool } from './record-pool.js';
import { cachedVerifier, SignatureCache } from './sig-cache.js';
import { openStore, type Store } from './store.js';
import { Sync } from './sync.js';
import { defaultVerifyThreads, VerifyPool } from './verify-pool.js';

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

export type NodeEvent =
  | { type: 'block-connected'; height: number; id: string; txs: number }
  | { type: 'block-rejected'; id: string; code: string; detail: string; from?: string; points?: number }
  | { type: 'tx-accepted'; txid: string }
  /** A block waits for the MAIN fold to judge its settlements. */
  | { type: 'block-held'; id: string; height: number }
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
  readonly chain: Chain<Peer>;
  readonly mempool: Mempool;
  /** MAIN and witness records this node was assigned, waiting for a block (filled by the edge client). */
  readonly records: MainRecordPool;
  readonly p2p: P2P;
  readonly sync: Sync;
  readonly networkId: Uint8Array;
  readonly sigCache = new SignatureCache();
  private readonly now: () => number;
  private listeners: ((e: NodeEvent) => void)[] = [];
  private pool?: VerifyPool;
  private main?: MainView;
  /** `workCounts`, counted once on first use, then kept by tip moves. */
  private counts?: Record<WorkKind, number>;

  constructor(readonly options: SectorNodeOptions) {
    const opts = options;
    const { spec, sector } = opts;
    this.now = opts.now ?? Date.now;
    this.networkId = computeNetworkId(spec);
    this.store = openStore(opts.dbPath, { limits: spec.limits });
    const genesis = genesisBlock(spec, sector);
    const gid = blockId(genesis.header);
    if (!this.store.tip()) this.store.initGenesis(genesis, gid, genesisState(spec, sector));
    const stored = this.store.idAtHeight(0)!;
    if (toHex(stored) !== toHex(gid)) {
      this.store.close();
      throw new PouwError('store-other-chain', `${opts.dbPath} holds the chain of genesis ${toHex(stored)}, not ${sector.slug}'s ${toHex(gid)} of this network: use another data directory`);
    }
    const fast = fastVerifier();
    // Admission fills the cache; block validation consumes it (a cache miss verifies as before).
    this.chain = new Chain<Peer>(this.store, {
      spec,
      sector,
      networkId: this.networkId,
      verify: cachedVerifier(this.sigCache, fast, { erase: true }),
      now: this.now,
    });
    // First the node's own bookkeeping of a tip move, then the protocol's announcements (it reads the mempool).
    this.chain.on((e) => this.onTipMoved(e));
    this.records = new MainRecordPool(options.spec.main.recordWindows);
    this.mempool = new Mempool({ ...DEFAULT_MEMPOOL, networkId: this.networkId, chain: sector.id, verify: cachedVerifier(this.sigCache, fast) });
    this.p2p = new P2P({
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      networkId: this.networkId,
      sectorId: sector.id,
      genesisId: gid,
      hello: () => this.hello(),
      onMessage: (peer, m) => this.sync.onMessage(peer, m),
      onPeer: (peer) => {
        this.emit({ type: 'peer', address: peer.address, event: 'ready' });
        const url = dialableUrl(peer);
        if (url) this.store.peers.upsert(url, { lastSeenMs: this.now(), failures: 0 });
        this.sync.peerReady(peer);
      },
      onBan: (peer, _code, untilMs) => {
        const url = dialableUrl(peer);
        if (url) this.store.peers.ban(url, untilMs);
      },
      onClose: (peer, reason) => {
        this.emit({ type: 'peer', address: peer.address, event: 'closed', reason });
        this.sync.peerGone(peer);
      },
    });
    this.sync = new Sync({
      spec,
      networkId: this.networkId,
      store: this.store,
      chain: this.chain,
      mempool: this.mempool,
      p2p: this.p2p,
      sigCache: this.sigCache,
      now: this.now,
      admitTx: (tx) => this.admitTx(tx),
      onBlockRejected: (e) => this.emit({ type: 'block-rejected', ...e }),
      onError: (error) => this.emit({ type: 'error', error }),
      maxRequestedBlocks: opts.maxRequestedBlocks,
      requestTimeoutMs: opts.requestTimeoutMs,
    });
  }

  /** Outstanding block requests to peers. */
  get requested() {
    return this.sync.requested;
  }

  on(listener: (e: NodeEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: NodeEvent): void {
    for (const l of this.listeners) l(e);
  }

  async start(): Promise<number> {
    this.pool = new VerifyPool({ threads: this.options.verifyThreads ?? defaultVerifyThreads() });
    this.sync.start(this.pool);
    let port: number;
    try {
      port = await this.p2p.start();
    } catch (e) {
      await this.sync.close();
      await this.pool.close();
      throw e;
    }
    // Bans outlive a restart: a banned peer is not dialed again until its ban ends.
    for (const p of this.store.peers.list({ includeBanned: true })) {
      if (p.bannedUntilMs > this.now() && URL.canParse(p.url)) this.p2p.restoreBan(p.url, p.bannedUntilMs);
    }
    // The configured peers, then the best remembered ones that are not banned.
    const remembered = this.store.peers.list({ nowMs: this.now(), limit: REMEMBERED_PEERS_DIALED }).map((p) => p.url);
    for (const url of new Set([...(this.options.peers ?? []), ...remembered])) this.p2p.connect(url);
    return port;
  }

  /** Closes the peers, drops the blocks still queued, stops the verify workers and closes the store. */
  async stop(): Promise<void> {
    await this.p2p.stop();
    await this.sync.close();
    await this.pool?.close();
    this.store.close();
  }

  /**
   * Judges this chain's settlements and matmul blocks' tasks by `main` from now on, retries held
   * blocks each time it completes more windows, and takes the miner's
   * settlements from it.
   */
  attachMain(main: MainView): void {
    this.main = main;
    const sectorId = this.options.sector.id;
    this.chain.judgeSettlements((s) => matchSettlements(s, main.releases(sectorId)));
    this.chain.judgeTasks((header, proof) => matmulTaskVerdict(sectorId, blockWindowOf(this.options.spec, header.timeMs), proof, main.task(toHex(proof.task))));
    main.on((e) => {
      if (e.type === 'main-complete') this.retryHeld();
    });
    this.retryHeld();
  }

  /** Passes the held blocks through the chain again; refusals are events. */
  retryHeld(): void {
    for (const { id, origin, result } of this.chain.retryHeld()) {
      if (result.ok) continue;
      if (origin) this.sync.refused(origin, toHex(id), result);
      else this.emit({ type: 'block-rejected', id: toHex(id), code: result.code, detail: result.detail });
    }
  }

  /**
   * The settlement entries a block on the tip should carry: the releases
   * owed to this sector from the treasury's nonce on, as many as a section
   * takes and the treasury can pay, in seq order. None without a MAIN view.
   */
  settlementsForBlock(): Uint8Array[] {
    if (!this.main) return [];
    const treasury = this.store.account(treasuryAddress(this.options.sector.id));
    let left = treasury.balance;
    const out: Uint8Array[] = [];
    for (const r of this.main.releases(this.options.sector.id).from(treasury.nonce, this.options.spec.limits.maxSectionEntries)) {
      if (r.amount > left) break;
      left -= r.amount;
      out.push(encodeSettlement(settlementOf(r)));
    }
    return out;
  }

  /** Worker threads verifying signatures (0 before start, or when verifying in-thread). */
  get verifyThreads(): number {
    return this.pool?.threads ?? 0;
  }

  /** Resolves when every block received so far has been through the chain. */
  blocksIdle(): Promise<void> {
    return this.sync.blocksIdle();
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

  /**
   * Accepts a block of this node's own (the miner's, the API's); `id` when
   * the caller computed it. Peers' blocks come through the sync protocol.
   * What a move of the best chain entails follows from the chain's event.
   */
  submitBlock(block: Block, id?: Uint8Array): Accepted | undefined {
    const r = this.chain.accept(block, id ? { id } : {});
    if (!r.ok) {
      this.emit({ type: 'block-rejected', id: toHex(id ?? blockId(block.header)), code: r.code, detail: r.detail });
      return undefined;
    }
    if (r.value.status === 'held') this.emit({ type: 'block-held', id: toHex(r.value.id), height: block.header.height });
    return r.value;
  }

  /** Admits a tx of this node's own (the API's) to the mempool and announces it to every peer; peers' txs come through the sync protocol. */
  submitTx(tx: Tx): { ok: true; txid: string } | { ok: false; code: string; detail: string } {
    const r = this.admitTx(tx);
    if (!r.ok) return r;
    this.sync.announceTx(tx);
    return { ok: true, txid: r.value.txid };
  }

  private admitTx(tx: Tx): Result<{ txid: string }, TxRejectCode> {
    const r = this.mempool.add(tx, this.store, this.now());
    if (!r.ok) return r;
    this.emit({ type: 'tx-accepted', txid: r.value.txid });
    return { ok: true, value: { txid: r.value.txid } };
  }

  /**
   * The best chain moved: txs of disconnected blocks wait for a block again,
   * included ones leave the mempool, the record pool follows, and each
   * connected block is an event.
   */
  /** Blocks of the best chain found by hashing and by useful work (matmul), genesis not counted. */
  get workCounts(): Record<WorkKind, number> {
    if (this.counts === undefined) {
      this.counts = { hash: 0, matmul: 0 };
      const tip = this.chain.tip().height;
      for (let h = 1; h <= tip; h++) {
        const id = this.store.idAtHeight(h);
        const header = id && this.store.getHeader(id);
        if (header) this.counts[header.workKind]++;
      }
    }
    return { ...this.counts };
  }

  private onTipMoved(e: TipMoved<Peer>): void {
    if (this.counts) {
      for (const { block } of e.disconnected) this.counts[block.header.workKind]--;
      for (const { block } of e.connected) this.counts[block.header.workKind]++;
    }
    for (const { block } of e.disconnected) for (const tx of block.body.txs) this.mempool.add(tx, this.store, this.now());
    const included = e.connected.flatMap(({ block }) => block.body.txs.map((t) => toHex(txId(t))));
    this.mempool.pruneAfterConnect(included, this.store);
    for (const { block, id } of e.disconnected) this.records.disconnected(block, toHex(id));
    for (const { block, id } of e.connected) this.records.connected(block, toHex(id));
    for (const { block, id } of e.connected) this.emit({ type: 'block-connected', height: block.header.height, id: toHex(id), txs: block.body.txs.length });
  }
}
