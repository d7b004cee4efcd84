/**
 * A sector's block tree and best chain: accepts blocks from the miner or
 * peers, validates them (core/validate.ts, core/state-transition.ts), keeps
 * side branches and a bounded orphan pool, and moves the best chain to the
 * branch with the most cumulative work — disconnecting and connecting blocks
 * one store transaction each, and restoring the old branch if a block of the
 * new one turns out invalid.
 *
 * Headers first (`acceptHeaders`): a peer's headers are judged before any
 * block of theirs is fetched or kept. A header is taken only when it connects
 * (its parent is stored, or a header taken before), its proof of work, bits
 * and time hold, and its branch's work is at least the tip's minus
 * `forkMarginBlocks` blocks at the tip's difficulty; headers that do not
 * connect are not stored at all (the caller asks for the missing ones). Taken
 * headers wait in a bounded map until their block arrives.
 *
 * A block is checked cheapest first: header rules and proof of work; then
 * whether its parent is known (if not, it waits as an orphan, nothing else
 * checked); then its place in the chain (bits, time); then the body's shape;
 * signatures last. The orphan pool is bounded in bytes, in total and per
 * origin; over a budget, the oldest orphan of the origin holding the most
 * bytes goes first, so a flooding peer evicts its own blocks.
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
 * Settlements (core/settlement.ts) are judged against the node's own MAIN
 * fold, through `judgeSettlements`, after signatures: a block with an entry
 * the fold contradicts is refused (`bad-settlement`); a block with an entry
 * of a window the fold has not reached is *held*, neither stored nor
 * refused, in a bounded set, until `retryHeld` (the MAIN view calls it when
 * it completes more windows) passes it through `accept` again. Its children
 * wait as orphans meanwhile. Without a judge every block with release
 * settlements is held: a node with no MAIN view cannot tell a right entry
 * from a wrong one. (Recycle entries need no fold: `applyBlock` judges them.)
 * The task of a matmul block is judged the same way (`judgeTasks`, core
 * `matmulTaskVerdict`): refused when the ledger rules it out, held while it
 * cannot tell yet, and without a judge always held.
 *
 * Storage is behind `ChainStore` (the SQLite store in production, a memory
 * one in tests); time comes from `now`. No networking here: callers turn the
 * results and events into peer scores and gossip.
 * @module
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { fail, ok, type Result } from '../core/errors.js';
import { blockId, type BlockHeader } from '../core/header.js';
import { encodeBody, type Block } from '../core/block.js';
import type { Verifier } from '../core/keys.js';
import type { NetworkSpec, SectorParams } from '../core/params.js';
import type { StateDelta, StateView } from '../core/state.js';
import type { BlockRejectCode } from './penalties.js';
import type { BlockInfo, BlockStatus, ChainTip } from './store.js';
import type { RejectCode } from '../core/reject.js';
import { checkSettlements, releasesOf, type Settlement } from '../core/settlement.js';
import { decodeWorkProof, type WorkProof } from '../core/task.js';
import { applyBlock, endsRecycleEpoch, type ApplyContext } from '../core/state-transition.js';
import { cumulativeWork, workOfAcceptedBits } from '../core/target.js';
import { medianTimePast } from '../core/time.js';
import { checkBlockBody, checkBlockHeader, checkBlockSignatures, checkHeaderContext, expectedBits } from '../core/validate.js';

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
  /** Bytes of orphan blocks held in all (default 8 MiB). */
  maxOrphanBytes?: number;
  /** Bytes of orphan blocks held per origin (default 2 MiB). */
  maxOrphanBytesPerOrigin?: number;
  /** Headers kept in memory (default 1024). */
  headerCacheSize?: number;
  /** Headers taken whose blocks are not stored yet (default 8192; the oldest go first). */
  maxPendingHeaders?: number;
  /** A branch is worth fetching when its work is at least the tip's minus this many tip-difficulty blocks (default 6). */
  forkMarginBlocks?: number;
  /** Blocks held for their settlements at once (default 64; the oldest go first). */
  maxHeldBlocks?: number;
}

/** The MAIN fold's verdict on a block's settlements (core `matchSettlements`). */
export type SettlementJudge = (settlements: readonly Settlement[]) => Result<'ok' | 'pending', RejectCode>;

/** The MAIN ledger's verdict on the task of a matmul block (core `matmulTaskVerdict`). */
export type TaskJudge = (header: BlockHeader, proof: WorkProof) => Result<'ok' | 'pending', RejectCode>;

/** The answer to a peer's headers. */
export type HeadersVerdict =
  /** The first header's parent is unknown: nothing was kept; ask the peer for what leads to it. */
  | { status: 'unconnected' }
  /** They connect, but their branch has too little work to be worth fetching: nothing was kept. */
  | { status: 'low-work'; work: bigint }
  /** Taken (or already known): the ids in order, and the branch's work at the last one. */
  | { status: 'connected'; ids: Uint8Array[]; work: bigint };

/** A block with its id, computed once. */
export interface ChainBlock {
  block: Block;
  id: Uint8Array;
}

export type Accepted =
  /** `held`: its settlements wait for the MAIN fold (`retryHeld`). */
  | { status: 'duplicate' | 'orphan' | 'side' | 'held'; id: Uint8Array }
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
  bytes: number;
}

interface PendingHeader {
  header: BlockHeader;
  work: bigint;
}

export class Chain<O = unknown> {
  /** Orphans by hex id, oldest first. */
  private readonly orphans = new Map<string, Orphan<O>>();
  /** Hex ids of the orphans waiting on each parent (hex id). */
  private readonly orphansByParent = new Map<string, Set<string>>();
  private readonly orphanBytesByOrigin = new Map<O | undefined, number>();
  private orphanBytesTotal = 0;
  private readonly pending = new Map<string, PendingHeader>();
  /** Blocks waiting for the MAIN fold to judge their settlements, by hex id, oldest first. */
  private readonly held = new Map<string, Orphan<O>>();
  private judge?: SettlementJudge;
  private taskJudge?: TaskJudge;
  private listeners: ((e: TipMoved<O>) => void)[] = [];
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
    let h = this.headers.get(key) ?? this.pending.get(key)?.header;
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

  /** The header's rules in its place: parent linkage, height, bits, time. */
  private checkInPlace(header: BlockHeader, parent: BlockHeader): Result<undefined, BlockRejectCode> {
    return checkHeaderContext(header, {
      parent,
      parentId: header.prevHash,
      parentMtpMs: this.mtpOf(parent),
      expectedBits: expectedBits(this.opts.sector, this.genesis, parent),
      nowMs: this.opts.now(),
      maxFutureBlockTimeMs: this.opts.spec.limits.maxFutureBlockTimeMs,
    });
  }

  /** Work below the tip's that a branch may have and still be fetched. */
  private forkMargin(): bigint {
    const tip = this.header(this.tip().id)!;
    return BigInt(this.opts.forkMarginBlocks ?? 6) * workOfAcceptedBits(tip.bits);
  }

  /**
   * Judges a peer's headers, in order, each the child of the one before (the
   * first of a header we know). Refusals carry the rule's code; headers are
   * kept only when the whole run connects and has the work to be fetched.
   */
  acceptHeaders(headers: readonly BlockHeader[]): Result<HeadersVerdict, BlockRejectCode> {
    const taken: string[] = [];
    const r = this.judgeHeaders(headers, taken);
    if (!r.ok || r.value.status !== 'connected') {
      for (const key of taken) this.pending.delete(key);
      return r;
    }
    const max = this.opts.maxPendingHeaders ?? 8192;
    while (this.pending.size > max) this.pending.delete(this.pending.keys().next().value as string);
    return r;
  }

  /** `acceptHeaders` without the clean-up: headers it takes go to `pending` and their keys to `taken`. */
  private judgeHeaders(headers: readonly BlockHeader[], taken: string[]): Result<HeadersVerdict, BlockRejectCode> {
    const ids: Uint8Array[] = [];
    let work = 0n;
    for (let i = 0; i < headers.length; i++) {
      const header = headers[i]!;
      const id = blockId(header);
      const key = toHex(id);
      ids.push(id);
      const stored = this.store.blockInfo(id);
      if (stored?.status === 'invalid') return fail('block-known-invalid', key);
      const known = stored?.cumulativeWork ?? this.pending.get(key)?.work;
      if (known !== undefined) {
        work = known;
        continue;
      }
      const own = checkBlockHeader(header, this.opts.sector);
      if (!own.ok) return own;
      const parentInfo = this.store.blockInfo(header.prevHash);
      const parentWork = parentInfo?.cumulativeWork ?? this.pending.get(toHex(header.prevHash))?.work;
      if (parentWork === undefined) {
        // Only the first may lead somewhere we do not know; a gap inside a run is the sender's invention.
        if (i === 0) return ok({ status: 'unconnected' });
        return fail('headers-not-continuous', `header ${i} does not follow header ${i - 1}`);
      }
      if (parentInfo?.status === 'invalid') return fail('bad-prevblk', 'the parent is invalid');
      const placed = this.checkInPlace(header, this.header(header.prevHash)!);
      if (!placed.ok) return placed;
      const w = cumulativeWork(parentWork, header.bits);
      if (!w.ok) return w;
      work = w.value;
      // Later headers of the run look their parents up here.
      this.pending.set(key, { header, work });
      taken.push(key);
    }
    // A run ending in a header already held was judged when that one was taken (its branch may go higher).
    const endsNew = taken.length > 0 && taken[taken.length - 1] === toHex(ids[ids.length - 1]!);
    if (endsNew && work + this.forkMargin() < this.tip().cumulativeWork) return ok({ status: 'low-work', work });
    return ok({ status: 'connected', ids, work });
  }

  /** Headers taken whose blocks are not stored yet. */
  get pendingHeaders(): number {
    return this.pending.size;
  }

  /** Judges settlements from now on (the node's MAIN view). */
  judgeSettlements(judge: SettlementJudge): void {
    this.judge = judge;
  }

  /** Judges the tasks of matmul blocks from now on (the node's MAIN view). */
  judgeTasks(judge: TaskJudge): void {
    this.taskJudge = judge;
  }

  /** Blocks held for their settlements or their task. */
  get heldBlocks(): number {
    return this.held.size;
  }

  isHeld(id: Uint8Array): boolean {
    return this.held.has(toHex(id));
  }

  /**
   * Passes every held block through `accept` again, oldest first (those
   * still pending are held again). Returns what became of each.
   */
  retryHeld(): { id: Uint8Array; origin?: O; result: Result<Accepted, BlockRejectCode> }[] {
    const blocks = [...this.held.values()];
    this.held.clear();
    return blocks.map((b) => ({ id: b.id, origin: b.origin, result: this.accept(b.block, { id: b.id, origin: b.origin, bytes: b.bytes }) }));
  }

  /** The settlements' verdict: refused, held, or on. */
  private settlementsVerdict(block: Block): Result<'ok' | 'pending', BlockRejectCode> {
    if (block.body.settlements.length === 0) return ok('ok');
    const shape = checkSettlements(block.body.settlements);
    if (!shape.ok) return shape;
    // Recycle entries are the state transition's to judge; only releases need the fold.
    if (releasesOf(shape.value).length === 0) return ok('ok');
    return this.judge ? this.judge(shape.value) : ok('pending');
  }

  /** The task's verdict on a matmul block (its tile passed `checkBlockHeader`): refused, held, or on. */
  private taskVerdict(block: Block): Result<'ok' | 'pending', BlockRejectCode> {
    if (block.header.workKind === 'hash') return ok('ok');
    return this.taskJudge ? this.taskJudge(block.header, decodeWorkProof(block.workProof)) : ok('pending');
  }

  private hold(b: Orphan<O>): Result<Accepted, BlockRejectCode> {
    const max = this.opts.maxHeldBlocks ?? 64;
    this.held.delete(toHex(b.id));
    while (this.held.size >= max) this.held.delete(this.held.keys().next().value as string);
    this.held.set(toHex(b.id), b);
    return ok({ status: 'held', id: b.id });
  }

  /**
   * Validates and stores `block`; moves the best chain when its branch has
   * more work. Failures carry the rule's code (the caller penalises the peer).
   * `id` is the block's id when the caller has it (it must be this header's);
   * `bytes` its encoded size, when known (it sizes an orphan).
   */
  accept(block: Block, opts: { id?: Uint8Array; origin?: O; bytes?: number } = {}): Result<Accepted, BlockRejectCode> {
    const id = opts.id ?? blockId(block.header);
    const key = toHex(id);
    if (this.store.hasBlock(id)) {
      return this.store.blockInfo(id)!.status === 'invalid' ? fail('block-known-invalid', key) : ok({ status: 'duplicate', id });
    }
    if (this.held.has(key)) return ok({ status: 'held', id });
    const own = checkBlockHeader(block.header, this.opts.sector, block.workProof);
    if (!own.ok) return own;
    const parentInfo = this.store.blockInfo(block.header.prevHash);
    if (!parentInfo) return this.addOrphan({ block, id, origin: opts.origin, bytes: opts.bytes ?? 200 + encodeBody(block.body, this.opts.spec.limits).length });
    if (parentInfo.status === 'invalid') return fail('bad-prevblk', 'the parent is invalid');
    const placed = this.checkInPlace(block.header, this.header(block.header.prevHash)!);
    if (!placed.ok) return placed;
    const work = cumulativeWork(parentInfo.cumulativeWork, block.header.bits);
    if (!work.ok) return work;
    const body = checkBlockBody(block, this.opts.spec, this.opts.sector);
    if (!body.ok) return body;
    const sigs = checkBlockSignatures(block, { networkId: this.opts.networkId, verify: this.opts.verify });
    if (!sigs.ok) return sigs;
    const settled = this.settlementsVerdict(block);
    if (!settled.ok) return settled;
    const tasked = this.taskVerdict(block);
    if (!tasked.ok) return tasked;
    if (settled.value === 'pending' || tasked.value === 'pending') return this.hold({ block, id, origin: opts.origin, bytes: opts.bytes ?? 200 + encodeBody(block.body, this.opts.spec.limits).length });
    const result = this.store.transaction((): Result<Accepted, BlockRejectCode> => {
      this.store.putBlock(block, { id, cumulativeWork: work.value, status: 'valid-header' });
      return work.value > this.tip().cumulativeWork ? this.reorgTo(id) : ok({ status: 'side', id });
    });
    this.pending.delete(key);
    this.rememberHeader(key, block.header);
    if (!result.ok) return result;
    if (result.value.status === 'connected') {
      const moved: TipMoved<O> = { type: 'tip-moved', tip: id, connected: result.value.connected, disconnected: result.value.disconnected, origin: opts.origin };
      for (const l of this.listeners) l(moved);
    }
    const children = [...(this.orphansByParent.get(key) ?? [])].map((k) => this.orphans.get(k)!);
    for (const child of children) this.dropOrphan(toHex(child.id));
    for (const child of children) this.accept(child.block, { id: child.id, origin: child.origin, bytes: child.bytes });
    return result;
  }

  private addOrphan(orphan: Orphan<O>): Result<Accepted, BlockRejectCode> {
    const key = toHex(orphan.id);
    if (this.orphans.has(key)) return ok({ status: 'orphan', id: orphan.id });
    const perOrigin = this.opts.maxOrphanBytesPerOrigin ?? 2 << 20;
    const total = this.opts.maxOrphanBytes ?? 8 << 20;
    // A block larger than its origin's whole budget is not kept at all.
    if (orphan.bytes > Math.min(perOrigin, total)) return ok({ status: 'orphan', id: orphan.id });
    while ((this.orphanBytesByOrigin.get(orphan.origin) ?? 0) + orphan.bytes > perOrigin) this.evictOrphanOf(orphan.origin);
    while (this.orphanBytesTotal + orphan.bytes > total) this.evictOrphanOf(this.heaviestOrigin());
    this.orphans.set(key, orphan);
    const parent = toHex(orphan.block.header.prevHash);
    let siblings = this.orphansByParent.get(parent);
    if (!siblings) this.orphansByParent.set(parent, (siblings = new Set()));
    siblings.add(key);
    this.orphanBytesByOrigin.set(orphan.origin, (this.orphanBytesByOrigin.get(orphan.origin) ?? 0) + orphan.bytes);
    this.orphanBytesTotal += orphan.bytes;
    return ok({ status: 'orphan', id: orphan.id });
  }

  /** The origin whose orphans hold the most bytes. */
  private heaviestOrigin(): O | undefined {
    let best: O | undefined;
    let most = -1;
    for (const [origin, bytes] of this.orphanBytesByOrigin) {
      if (bytes > most) [best, most] = [origin, bytes];
    }
    return best;
  }

  /** Drops the oldest orphan of `origin`. */
  private evictOrphanOf(origin: O | undefined): void {
    for (const [key, o] of this.orphans) {
      if (o.origin === origin) return this.dropOrphan(key);
    }
  }

  private dropOrphan(key: string): void {
    const o = this.orphans.get(key);
    if (!o) return;
    this.orphans.delete(key);
    const parent = toHex(o.block.header.prevHash);
    const siblings = this.orphansByParent.get(parent)!;
    siblings.delete(key);
    if (siblings.size === 0) this.orphansByParent.delete(parent);
    const left = this.orphanBytesByOrigin.get(o.origin)! - o.bytes;
    if (left > 0) this.orphanBytesByOrigin.set(o.origin, left);
    else this.orphanBytesByOrigin.delete(o.origin);
    this.orphanBytesTotal -= o.bytes;
  }

  /** Orphan blocks held, and their bytes. */
  get orphanBlocks(): number {
    return this.orphans.size;
  }

  get orphanBytes(): number {
    return this.orphanBytesTotal;
  }

  /** Forgets the orphans and held blocks `origin` sent (it was dropped for misbehaving). */
  forgetOrigin(origin: O): void {
    for (const [key, o] of [...this.orphans]) if (o.origin === origin) this.dropOrphan(key);
    for (const [key, o] of [...this.held]) if (o.origin === origin) this.held.delete(key);
  }

  /**
   * What applying a block at `height` on the best chain needs: signatures
   * were checked already; an epoch's last block also gets the epoch's
   * earlier blocks, read from the best chain below it (during a reorg, the
   * branch connected so far).
   */
  applyContext(height: number): ApplyContext {
    const { sector, networkId } = this.opts;
    const ctx: ApplyContext = { sector, networkId, verifySignatures: false };
    if (!endsRecycleEpoch(sector, height)) return ctx;
    const epochBlocks: Block[] = [];
    for (let h = height - sector.recycle.epochBlocks + 1; h < height; h++) epochBlocks.push(this.store.getBlock(this.store.idAtHeight(h)!)!);
    return { ...ctx, epochBlocks };
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
      const delta = applyBlock(this.store, b, this.applyContext(b.header.height));
      if (!delta.ok) {
        // The branch is invalid from here: mark it, and put the old branch back.
        this.store.setBlockStatus(id, 'invalid', delta.code);
        while (!equalBytes(this.tip().id, fork)) this.store.disconnectTip();
        for (const old of [...disconnected].reverse()) {
          const d = applyBlock(this.store, old.block, this.applyContext(old.block.header.height));
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
