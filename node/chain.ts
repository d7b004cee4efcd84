/**
 * A sector's block tree and best chain: accepts blocks from the miner or
 * peers, validates them (core/validate.ts, core/state-transition.ts), keeps
 * side branches and a bounded orphan pool, and moves the best chain to the
 * branch with the most cumulative work — disconnecting and connecting blocks
 * one store transaction each, and restoring the old branch if a block of the
 * new one turns out invalid.
 *
 * Storing a block and any move of the best chain it causes are one store
 * transaction. Headers of recent blocks are kept in memory, since every new
 * block reads its ancestors' times for median-time-past.
 *
 * A block's id is computed once, by whoever first holds the block (the sync
 * module when it decodes a peer's, the miner when it finds one), and carried
 * from there: `accept` takes it, and every block the chain reports comes as
 * `{ block, id }`.
 *
 * Whenever the best chain moves, listeners get a `tip-moved` event with the
 * blocks connected and disconnected, in order, and the origin the caller
 * gave `accept` (the peer that sent the block, say). That includes blocks
 * that were waiting as orphans and connect after their parent.
 *
 * Storage is behind `ChainStore` (the SQLite store in production, a memory
 * one in tests); time comes from `now`. No networking here: callers turn the
 * results and events into peer scores and gossip.
 * @module
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { fail, ok, type Result } from '../core/errors.js';
import { blockId, type BlockHeader } from '../core/header.js';
import type { Block } from '../core/block.js';
import type { Verifier } from '../core/keys.js';
import type { NetworkSpec, SectorParams } from '../core/params.js';
import type { StateDelta, StateView } from '../core/state.js';
import type { BlockRejectCode } from './penalties.js';
import type { BlockInfo, BlockStatus, ChainTip } from './store.js';
import { applyBlock } from '../core/state-transition.js';
import { cumulativeWork } from '../core/target.js';
import { medianTimePast } from '../core/time.js';
import { checkBlock, checkHeaderContext, expectedBits } from '../core/validate.js';

/**
 * What the chain needs of its store (node/store.ts implements it): every
 * connect and disconnect is one atomic write, and `transaction` groups a
 * whole reorg into one.
 */
export interface ChainStore extends StateView {
  tip(): ChainTip | undefined;
  hasBlock(id: Uint8Array): boolean;
  getBlock(id: Uint8Array): Block | undefined;
  /** The header alone, when the store can read it without the body. */
  getHeader?(id: Uint8Array): BlockHeader | undefined;
  blockInfo(id: Uint8Array): Pick<BlockInfo, 'height' | 'cumulativeWork' | 'status'> | undefined;
  /** Id of the connected block at `height`. */
  idAtHeight(height: number): Uint8Array | undefined;
  /** `id` is the block's id as the chain holds it; a store may compute it when absent. */
  putBlock(block: Block, opts: { id?: Uint8Array; cumulativeWork: bigint; status: BlockStatus }): unknown;
  setBlockStatus(id: Uint8Array, status: BlockStatus, invalidCode?: string): unknown;
  connectBlock(block: Block, id: Uint8Array, delta: StateDelta): void;
  /** Undoes the tip and returns it; never genesis. */
  disconnectTip(): { block: Block };
  transaction<T>(fn: () => T): T;
}

export interface ChainOptions {
  spec: NetworkSpec;
  sector: SectorParams;
  networkId: Uint8Array;
  verify?: Verifier;
  now: () => number;
  maxOrphans?: number;
  /** Headers kept in memory (default 1024). */
  headerCacheSize?: number;
}

/** A block with its id, computed once. */
export interface ChainBlock {
  block: Block;
  id: Uint8Array;
}

export type Accepted =
  | { status: 'duplicate' | 'orphan' | 'side'; id: Uint8Array }
  | { status: 'connected'; id: Uint8Array; connected: ChainBlock[]; disconnected: ChainBlock[] };

/** The best chain moved: `disconnected` from the old tip down, then `connected` up to the new tip. */
export interface TipMoved<O> {
  type: 'tip-moved';
  tip: Uint8Array;
  connected: ChainBlock[];
  disconnected: ChainBlock[];
  /** What the caller of `accept` said the block came from; an orphan keeps its own. */
  origin?: O;
}

interface Orphan<O> extends ChainBlock {
  origin?: O;
}

export class Chain<O = unknown> {
  private readonly orphans = new Map<string, Orphan<O>[]>();
  private listeners: ((e: TipMoved<O>) => void)[] = [];
  private orphanCount = 0;
  private readonly genesis: BlockHeader;
  /** Recently read or stored headers by hex id; headers never change, so entries never go stale. */
  private readonly headers = new Map<string, BlockHeader>();

  constructor(
    private readonly store: ChainStore,
    private readonly opts: ChainOptions,
  ) {
    const g = store.getBlock(store.idAtHeight(0) ?? new Uint8Array(32));
    if (!g) throw new Error('the store has no genesis block');
    this.genesis = g.header;
  }

  tip(): ChainTip {
    return this.store.tip()!;
  }

  /** Calls `listener` synchronously each time the best chain moves, once the move is stored (inside any transaction the caller holds). */
  on(listener: (e: TipMoved<O>) => void): void {
    this.listeners.push(listener);
  }

  private rememberHeader(key: string, header: BlockHeader): void {
    if (this.headers.size >= (this.opts.headerCacheSize ?? 1024)) this.headers.delete(this.headers.keys().next().value as string);
    this.headers.set(key, header);
  }

  private header(id: Uint8Array): BlockHeader | undefined {
    const key = toHex(id);
    let h = this.headers.get(key);
    if (!h) {
      h = this.store.getHeader ? this.store.getHeader(id) : this.store.getBlock(id)?.header;
      if (h) this.rememberHeader(key, h);
    }
    return h;
  }

  /** Median-time-past of `header` and up to span − 1 of its ancestors. */
  private mtpOf(header: BlockHeader): number {
    const times = [header.timeMs];
    let h = header;
    while (times.length < this.opts.spec.limits.medianTimeSpan && h.height > 0) {
      const parent = this.header(h.prevHash);
      if (!parent) break;
      h = parent;
      times.unshift(h.timeMs);
    }
    return medianTimePast(times, this.opts.spec.limits.medianTimeSpan);
  }

  /**
   * Validates and stores `block`; moves the best chain when its branch has
   * more work. Failures carry the rule's code (the caller penalises the peer).
   * `id` is the block's id when the caller has it (it must be this header's).
   */
  accept(block: Block, opts: { id?: Uint8Array; origin?: O } = {}): Result<Accepted, BlockRejectCode> {
    const id = opts.id ?? blockId(block.header);
    if (this.store.hasBlock(id)) {
      return this.store.blockInfo(id)!.status === 'invalid' ? fail('block-known-invalid', toHex(id)) : ok({ status: 'duplicate', id });
    }
    const checked = checkBlock(block, this.opts.spec, this.opts.sector, { networkId: this.opts.networkId, verify: this.opts.verify });
    if (!checked.ok) return checked;
    const parentInfo = this.store.blockInfo(block.header.prevHash);
    if (!parentInfo) return this.addOrphan({ block, id, origin: opts.origin });
    if (parentInfo.status === 'invalid') return fail('bad-prevblk', 'the parent is invalid');
    const parent = this.header(block.header.prevHash)!;
    const ctx = checkHeaderContext(block.header, {
      parent,
      parentId: block.header.prevHash,
      parentMtpMs: this.mtpOf(parent),
      expectedBits: expectedBits(this.opts.sector, this.genesis, parent),
      nowMs: this.opts.now(),
      maxFutureBlockTimeMs: this.opts.spec.limits.maxFutureBlockTimeMs,
    });
    if (!ctx.ok) return ctx;
    const work = cumulativeWork(parentInfo.cumulativeWork, block.header.bits);
    if (!work.ok) return work;
    const result = this.store.transaction((): Result<Accepted, BlockRejectCode> => {
      this.store.putBlock(block, { id, cumulativeWork: work.value, status: 'valid-header' });
      return work.value > this.tip().cumulativeWork ? this.reorgTo(id) : ok({ status: 'side', id });
    });
    this.rememberHeader(toHex(id), block.header);
    if (!result.ok) return result;
    if (result.value.status === 'connected') {
      const moved: TipMoved<O> = { type: 'tip-moved', tip: id, connected: result.value.connected, disconnected: result.value.disconnected, origin: opts.origin };
      for (const l of this.listeners) l(moved);
    }
    const children = this.orphans.get(toHex(id)) ?? [];
    this.orphans.delete(toHex(id));
    this.orphanCount -= children.length;
    for (const child of children) this.accept(child.block, { id: child.id, origin: child.origin });
    return result;
  }

  private addOrphan(orphan: Orphan<O>): Result<Accepted, BlockRejectCode> {
    const max = this.opts.maxOrphans ?? 256;
    if (this.orphanCount >= max) {
      // Drop the oldest parent's orphans to make room.
      const [oldest, blocks] = this.orphans.entries().next().value as [string, Orphan<O>[]];
      this.orphans.delete(oldest);
      this.orphanCount -= blocks.length;
    }
    const key = toHex(orphan.block.header.prevHash);
    const list = this.orphans.get(key) ?? [];
    if (!list.some((b) => equalBytes(b.id, orphan.id))) {
      list.push(orphan);
      this.orphanCount++;
    }
    this.orphans.set(key, list);
    return ok({ status: 'orphan', id: orphan.id });
  }

  get orphanBlocks(): number {
    return this.orphanCount;
  }

  /** Makes `target` the tip: back to the fork point, then forward along its branch. */
  private reorgTo(target: Uint8Array): Result<Accepted, BlockRejectCode> {
    const branch: ChainBlock[] = [];
    let cursor = target;
    for (;;) {
      const info = this.store.blockInfo(cursor)!;
      const onBest = this.store.idAtHeight(info.height);
      if (onBest && equalBytes(onBest, cursor)) break;
      // A branch through a block already found invalid can never become best.
      if (info.status === 'invalid') {
        this.store.setBlockStatus(target, 'invalid', 'bad-prevblk');
        return fail('bad-prevblk', `the branch contains invalid block ${toHex(cursor)}`);
      }
      const b = this.store.getBlock(cursor)!;
      branch.unshift({ block: b, id: cursor });
      cursor = b.header.prevHash;
    }
    const fork = cursor;
    const disconnected: ChainBlock[] = [];
    while (!equalBytes(this.tip().id, fork)) {
      const id = this.tip().id;
      disconnected.push({ block: this.store.disconnectTip().block, id });
    }
    const connected: ChainBlock[] = [];
    for (const { block: b, id } of branch) {
      const delta = applyBlock(this.store, b, { sector: this.opts.sector, networkId: this.opts.networkId, verifySignatures: false });
      if (!delta.ok) {
        // The branch is invalid from here: mark it, and put the old branch back.
        this.store.setBlockStatus(id, 'invalid', delta.code);
        while (!equalBytes(this.tip().id, fork)) this.store.disconnectTip();
        for (const old of [...disconnected].reverse()) {
          const d = applyBlock(this.store, old.block, { sector: this.opts.sector, networkId: this.opts.networkId, verifySignatures: false });
          if (!d.ok) throw new Error(`reconnecting a previously valid block failed: ${d.code}`);
          this.store.connectBlock(old.block, old.id, d.value);
        }
        return fail(delta.code, `block ${toHex(id)}: ${delta.detail}`);
      }
      this.store.connectBlock(b, id, delta.value);
      connected.push({ block: b, id });
    }
    return ok({ status: 'connected', id: target, connected, disconnected });
  }
}
