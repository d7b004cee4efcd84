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
 * Invalid data costs the sender score points (a bad block bans at once).
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
import { forkPoint, locatorHeights, MAX_HEADERS, MAX_INV, WIRE_VERSION, type Message } from '../core/wire.js';
import { Chain, type Accepted } from './chain.js';
import { DEFAULT_MEMPOOL, Mempool } from './mempool.js';
import { P2P, type Hello, type Peer } from './p2p.js';
import { openStore, type Store } from './store.js';
import { fastVerifier } from './verify.js';

export interface SectorNodeOptions {
  spec: NetworkSpec;
  sector: SectorParams;
  /** SQLite file (or ':memory:'). */
  dbPath: string;
  host?: string;
  port?: number;
  peers?: string[];
  now?: () => number;
}

export type NodeEvent =
  | { type: 'block-connected'; height: number; id: string; txs: number }
  | { type: 'block-rejected'; id: string; code: string; detail: string; from?: string }
  | { type: 'tx-accepted'; txid: string }
  | { type: 'peer'; address: string; event: 'ready' | 'closed'; reason?: string };

export class SectorNode {
  readonly store: Store;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly p2p: P2P;
  readonly networkId: Uint8Array;
  private readonly now: () => number;
  private readonly requested = new Set<string>();
  private listeners: ((e: NodeEvent) => void)[] = [];

  constructor(readonly options: SectorNodeOptions) {
    const opts = options;
    const { spec, sector } = opts;
    this.now = opts.now ?? Date.now;
    this.networkId = computeNetworkId(spec);
    this.store = openStore(opts.dbPath, { limits: spec.limits });
    const genesis = genesisBlock(spec, sector);
    const gid = blockId(genesis.header);
    if (!this.store.tip()) this.store.initGenesis(genesis, gid, genesisState(spec, sector));
    const verify = fastVerifier();
    this.chain = new Chain(this.store, { spec, sector, networkId: this.networkId, verify, now: this.now });
    this.mempool = new Mempool({ ...DEFAULT_MEMPOOL, networkId: this.networkId, chain: sector.id, verify });
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
        this.requestHeaders(peer);
      },
      onClose: (peer, reason) => this.emit({ type: 'peer', address: peer.address, event: 'closed', reason }),
    });
  }

  on(listener: (e: NodeEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: NodeEvent): void {
    for (const l of this.listeners) l(e);
  }

  async start(): Promise<number> {
    const port = await this.p2p.start();
    for (const url of this.options.peers ?? []) this.p2p.connect(url);
    return port;
  }

  async stop(): Promise<void> {
    await this.p2p.stop();
    this.store.close();
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

  private requestHeaders(peer: Peer): void {
    peer.send({ type: 'get-headers', locator: this.locator(), stop: new Uint8Array(32) });
  }

  /** Accepts a block from anywhere (a peer, the miner) and announces it when it moved the tip. */
  submitBlock(block: Block, from?: Peer): Accepted | undefined {
    const r = this.chain.accept(block);
    const id = toHex(blockId(block.header));
    if (!r.ok) {
      this.emit({ type: 'block-rejected', id, code: r.code, detail: r.detail, ...(from ? { from: from.address } : {}) });
      // Invalid blocks cost the sender everything; a missing parent or a stale time costs nothing.
      if (from && !['time-too-new'].includes(r.code)) from.penalize(100, r.code);
      return undefined;
    }
    if (r.value.status === 'orphan' && from) this.requestHeaders(from);
    if (r.value.status === 'connected') {
      for (const b of r.value.disconnected) for (const tx of b.body.txs) this.mempool.add(tx, this.store, this.now());
      const included = r.value.connected.flatMap((b) => b.body.txs.map((t) => toHex(txId(t))));
      this.mempool.pruneAfterConnect(included, this.store);
      for (const b of r.value.connected) {
        this.emit({ type: 'block-connected', height: b.header.height, id: toHex(blockId(b.header)), txs: b.body.txs.length });
      }
      this.p2p.broadcast({ type: 'inv', kind: 'block', ids: [r.value.id] }, from);
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
        const wanted = m.headers.map((h) => blockId(h)).filter((id) => !this.store.hasBlock(id) && !this.requested.has(toHex(id)));
        for (let i = 0; i < wanted.length; i += MAX_INV) {
          const ids = wanted.slice(i, i + MAX_INV);
          for (const id of ids) this.requested.add(toHex(id));
          peer.send({ type: 'get-blocks', ids });
        }
        if (m.headers.length === MAX_HEADERS) {
          const last = blockId(m.headers[m.headers.length - 1]!);
          peer.send({ type: 'get-headers', locator: [last, ...this.locator()].slice(0, 64), stop: new Uint8Array(32) });
        }
        return;
      }
      case 'get-blocks':
        for (const id of m.ids) {
          const b = this.store.getBlock(id);
          if (b) peer.send({ type: 'block', block: encodeBlock(b, this.options.spec.limits) });
        }
        return;
      case 'block': {
        let block: Block;
        try {
          block = decodeBlock(m.block, this.options.spec.limits);
        } catch (e) {
          if (e instanceof CodecError) return peer.penalize(100, e.code);
          throw e;
        }
        this.requested.delete(toHex(blockId(block.header)));
        this.submitBlock(block, peer);
        return;
      }
      case 'inv': {
        const unknown = m.ids.filter((id) =>
          m.kind === 'block' ? !this.store.hasBlock(id) && !this.requested.has(toHex(id)) : !this.mempool.has(toHex(id)),
        );
        if (unknown.length === 0) return;
        if (m.kind === 'block') {
          for (const id of unknown) this.requested.add(toHex(id));
          peer.send({ type: 'get-blocks', ids: unknown });
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
