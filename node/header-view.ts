/**
 * A node's light-client view of every sector: the headers the edge relays,
 * checked with core, and the window beacons recomputed from them exactly as
 * core/beacon.ts defines them (and edge/beacons.ts publishes them), so a node
 * can check the edge's draws instead of believing them.
 *
 * Per sector, an in-memory header tree. A header is kept when its proof of
 * work holds (`checkHeaderWork`) and, when its parent is held, when it fits
 * that parent (`checkHeaderContext`: linkage, height, ASERT bits from genesis,
 * time past the parent's median-time-past, not too far ahead of our clock).
 * The best chain is the one with the most work, the first seen winning a tie:
 * the edge's rule, so a view that received what the edge relayed, in the
 * order it relayed it, holds the edge's best chains.
 *
 * What it does not do itself: fetch history. The edge relays headers as it
 * accepts them; the edge client fills small gaps from the edge's header
 * ranges, so a view starts at genesis and, after a gap too large to fill (it
 * connected late, or lost its socket for long), restarts at the next higher
 * header: a *root* whose proof of work is checked
 * but whose bits and time cannot be, its parent being unknown. Median-time-past
 * needs `medianTimeSpan` ancestors, so the first headers above a root have
 * none, and a beacon whose anchors lie below what a view holds cannot be
 * recomputed: `anchors` answers undefined rather than guessing. Memory is
 * bounded: headers more than `maxHeaders` below a sector's tip are dropped,
 * and beacons more than `maxBeacons` windows old.
 * @module
 */
import { settledThrough, type ChainView } from '../core/main-ledger.js';
import { beaconHash, initialBeacon, type BeaconAnchor } from '../core/beacon.js';
import { equalBytes, toHex } from '../core/bytes.js';
import { fail, ok, type Result } from '../core/errors.js';
import { genesisBlock, genesisId, networkId } from '../core/genesis.js';
import { blockId, HEADER_VERSION, type BlockHeader } from '../core/header.js';
import type { NetworkSpec, SectorParams } from '../core/params.js';
import { workOfAcceptedBits } from '../core/target.js';
import { medianTimePast, windowEnd } from '../core/time.js';
import { checkHeaderContext, checkHeaderWork, expectedBits } from '../core/validate.js';

export interface ViewHeader {
  id: Uint8Array;
  key: string;
  header: BlockHeader;
  /** Median-time-past; null when too few ancestors are held (just above a root that is not genesis). */
  mtpMs: number | null;
  /** Work from this view's root (comparable within one view only). */
  work: bigint;
}

export type HeaderStatus = 'new' | 'known' | 'root';

/** One sector's headers as relayed, with its best chain. */
export class SectorHeaderView {
  private readonly byKey = new Map<string, ViewHeader>();
  /** The best chain from the lowest held header: best[i] is at height best[0].height + i. */
  private best: ViewHeader[] = [];
  private readonly genesis: BlockHeader;
  private readonly genesisId: Uint8Array;
  /** How many times a gap made this view restart at a later header. */
  rerooted = 0;

  constructor(
    private readonly spec: NetworkSpec,
    readonly sector: SectorParams,
    private readonly maxHeaders = 4096,
  ) {
    if (!Number.isInteger(maxHeaders) || maxHeaders < spec.limits.medianTimeSpan + spec.main.beaconDepth) {
      throw new RangeError('maxHeaders must cover at least a median-time-past span and the beacon depth');
    }
    this.genesis = genesisBlock(spec, sector).header;
    this.genesisId = genesisId(spec, sector);
    this.root(this.genesis, this.genesisId, this.genesis.timeMs);
  }

  tip(): ViewHeader {
    return this.best[this.best.length - 1]!;
  }

  /** The lowest header of the best chain this view holds (genesis until a gap or pruning). */
  base(): ViewHeader {
    return this.best[0]!;
  }

  get size(): number {
    return this.byKey.size;
  }

  has(id: Uint8Array): boolean {
    return this.byKey.has(toHex(id));
  }

  /** The header `id` if it is on the best chain this view holds, with its confirmations (tip height − height + 1). */
  bestBlock(id: Uint8Array): { header: BlockHeader; confirmations: number } | undefined {
    const key = toHex(id);
    const h = this.byKey.get(key);
    if (h === undefined) return undefined;
    const at = this.best[h.header.height - this.best[0]!.header.height];
    if (at?.key !== key) return undefined;
    return { header: h.header, confirmations: this.tip().header.height - h.header.height + 1 };
  }

  /** Median-time-past of the best-chain block with `confirmations` confirmations; null when not held or not known. */
  mtpAtDepth(confirmations: number): number | null {
    return this.best[this.best.length - confirmations]?.mtpMs ?? null;
  }

  private root(header: BlockHeader, id: Uint8Array, mtpMs: number | null): void {
    const h: ViewHeader = { id, key: toHex(id), header, mtpMs, work: workOfAcceptedBits(header.bits) };
    this.byKey.clear();
    this.byKey.set(h.key, h);
    this.best = [h];
  }

  /** Checks one relayed header and keeps it; a refusal carries core's code. */
  add(header: BlockHeader, nowMs: number, workProof: Uint8Array = new Uint8Array(0)): Result<{ status: HeaderStatus; tipMoved: boolean }> {
    const s = this.sector;
    // A header relayed for one sector must belong to it.
    if (header.sectorId !== s.id) return fail('bad-sector', `header of sector ${header.sectorId} in the view of sector ${s.id}`);
    if (header.version !== HEADER_VERSION) return fail('bad-version', `header version ${header.version}`);
    if (!s.workKinds.includes(header.workKind)) return fail('bad-work-kind', `${header.workKind} not allowed in ${s.slug}`);
    // A header already held passed every check below when it came (genesis is the spec's, not mined).
    if (this.byKey.has(toHex(blockId(header)))) return ok({ status: 'known', tipMoved: false });
    // The work was done, whatever else we can or cannot check (a matmul header's tile, not its task: the edge's rule too).
    const pow = checkHeaderWork(header, s, workProof);
    if (!pow.ok) return pow;
    const key = toHex(pow.value);
    const parent = this.byKey.get(toHex(header.prevHash));
    if (parent === undefined) {
      // A side branch whose fork point we never received cannot be placed.
      if (header.height <= this.tip().header.height) return fail('unknown-parent', `parent of height ${header.height} not held`);
      // A gap: what came between was not received, so the view restarts here.
      this.root(header, pow.value, null);
      this.rerooted++;
      return ok({ status: 'root', tipMoved: true });
    }
    const context = checkHeaderContext(header, {
      parent: parent.header,
      parentId: parent.id,
      // Unknown just above a root: the time rule is then the edge's word.
      parentMtpMs: parent.mtpMs ?? Number.NEGATIVE_INFINITY,
      expectedBits: expectedBits(s, this.genesis, parent.header),
      nowMs,
      maxFutureBlockTimeMs: this.spec.limits.maxFutureBlockTimeMs,
    });
    if (!context.ok) return context;
    const h: ViewHeader = { id: pow.value, key, header, mtpMs: this.mtpOf(header, parent), work: parent.work + workOfAcceptedBits(header.bits) };
    this.byKey.set(key, h);
    const tipMoved = h.work > this.tip().work;
    if (tipMoved) this.moveTip(h);
    this.prune();
    return ok({ status: 'new', tipMoved });
  }

  /** Median-time-past of `header` on `parent`, or null when fewer than the span of ancestors are held. */
  private mtpOf(header: BlockHeader, parent: ViewHeader): number | null {
    const span = this.spec.limits.medianTimeSpan;
    const times = [header.timeMs];
    let cur: ViewHeader | undefined = parent;
    while (times.length < span) {
      if (cur === undefined) return null;
      times.unshift(cur.header.timeMs);
      if (cur.header.height === 0) break;
      cur = this.byKey.get(toHex(cur.header.prevHash));
    }
    return medianTimePast(times, span);
  }

  private moveTip(h: ViewHeader): void {
    if (toHex(h.header.prevHash) === this.tip().key) {
      this.best.push(h);
      return;
    }
    const branch = [h];
    const baseHeight = this.base().header.height;
    for (let cur = h; ; ) {
      const p = this.byKey.get(toHex(cur.header.prevHash));
      if (p === undefined) {
        // The branch starts below what the best chain holds: it becomes the best chain.
        this.best = branch.reverse();
        return;
      }
      const at = p.header.height - baseHeight;
      if (at >= 0 && this.best[at]?.key === p.key) {
        this.best.length = at + 1;
        this.best.push(...branch.reverse());
        return;
      }
      branch.push(p);
      cur = p;
    }
  }

  /** Drops headers more than maxHeaders below the tip, a quarter of maxHeaders at a time. */
  private prune(): void {
    if (this.best.length <= this.maxHeaders + (this.maxHeaders >> 2)) return;
    this.best = this.best.slice(this.best.length - this.maxHeaders);
    const lowest = this.base().header.height;
    for (const [k, v] of this.byKey) if (v.header.height < lowest) this.byKey.delete(k);
  }

  /**
   * The beacon anchor for inputs ending at `cutoffMs`, as core `beaconAnchor`
   * would read it off the whole best chain; undefined when it is not settled
   * yet (no held block's median-time-past is past the cutoff) or lies below
   * what this view holds.
   */
  anchor(cutoffMs: number, depth: number): BeaconAnchor | undefined {
    const best = this.best;
    const tip = this.tip();
    if (tip.mtpMs === null || tip.mtpMs <= cutoffMs) return undefined;
    // Medians are unknown only at the bottom, just above a root.
    let lo = best.findIndex((h) => h.mtpMs !== null);
    let last: number;
    if (best[lo]!.mtpMs! > cutoffMs) {
      // Every held median is past the cutoff: the last block at or before it is below us, unless we hold genesis.
      if (best[lo]!.header.height !== 0) return undefined;
      last = lo;
    } else {
      last = lo;
      let hi = best.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (best[mid]!.mtpMs! <= cutoffMs) {
          last = mid;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
    }
    const height = Math.max(0, best[last]!.header.height - depth);
    const at = height - this.base().header.height;
    if (at >= 0) return { sectorId: this.sector.id, height, id: best[at]!.id, settled: true };
    return height === 0 ? { sectorId: this.sector.id, height: 0, id: this.genesisId, settled: true } : undefined;
  }
}

/** A beacon this view computed; `fromGenesis` when its whole chain back to R_{−1} was computed here. */
export interface KnownBeacon {
  window: number;
  beacon: Uint8Array;
  fromGenesis: boolean;
}

export interface HeaderViewOptions {
  /** Headers kept per sector below its tip (default 4096). */
  maxHeaders?: number;
  /** Beacons kept (default 2048 windows). */
  maxBeacons?: number;
}

/** Every sector's view, and the beacon chain recomputed from them. */
export class HeaderView implements ChainView {
  readonly sectors = new Map<number, SectorHeaderView>();
  private readonly beacons = new Map<number, KnownBeacon>();
  private readonly seed: Uint8Array;
  private readonly maxBeacons: number;
  /** The next window `advance` tries. */
  private nextWindow = 0;

  constructor(
    readonly spec: NetworkSpec,
    options: HeaderViewOptions = {},
  ) {
    for (const s of spec.sectors) this.sectors.set(s.id, new SectorHeaderView(spec, s, options.maxHeaders));
    this.seed = initialBeacon(networkId(spec));
    this.maxBeacons = options.maxBeacons ?? 2048;
  }

  sector(id: number): SectorHeaderView | undefined {
    return this.sectors.get(id);
  }

  // The MAIN fold's view of the chains (core/main-ledger.ts ChainView).
  bestBlock(sectorId: number, id: Uint8Array): { header: BlockHeader; confirmations: number } | undefined {
    return this.sectors.get(sectorId)?.bestBlock(id);
  }

  settledThrough(sectorId: number): number {
    const v = this.sectors.get(sectorId);
    return v ? settledThrough(v.mtpAtDepth(this.spec.main.mainConfirmations), this.spec) : -2;
  }

  /** Checks a relayed header of sector `sectorId`; `unknown-sector` for a sector the spec lacks. */
  add(sectorId: number, header: BlockHeader, nowMs: number, workProof?: Uint8Array): Result<{ status: HeaderStatus; tipMoved: boolean }> {
    const view = this.sectors.get(sectorId);
    if (view === undefined) return fail('unknown-sector', `no sector ${sectorId}`);
    return view.add(header, nowMs, workProof);
  }

  /** The last millisecond of window w − 1: R_w's anchors are read at this cutoff. */
  cutoffOf(w: number): number {
    return windowEnd(w - 1, this.spec.genesisTimeMs, this.spec.main.windowMs);
  }

  /** Every sector's anchor for R_w, or undefined when one is not settled or not held. */
  anchors(w: number): BeaconAnchor[] | undefined {
    const cutoff = this.cutoffOf(w);
    const out: BeaconAnchor[] = [];
    for (const v of this.sectors.values()) {
      const a = v.anchor(cutoff, this.spec.main.beaconDepth);
      if (a === undefined) return undefined;
      out.push(a);
    }
    return out;
  }

  beacon(w: number): KnownBeacon | undefined {
    return this.beacons.get(w);
  }

  /** The newest beacon computed. */
  latest(): KnownBeacon | undefined {
    return this.beacons.get(this.nextWindow - 1);
  }

  private store(b: KnownBeacon): void {
    this.beacons.set(b.window, b);
    for (const w of this.beacons.keys()) if (w < b.window - this.maxBeacons) this.beacons.delete(w);
  }

  /**
   * Computes the beacons of ended windows in order from the last one known,
   * as far as the view settles their anchors (at most `maxSteps`); returns
   * the new ones. Like the edge, a window's beacon waits for the clock to pass
   * its cutoff.
   */
  advance(nowMs: number, maxSteps = 256): KnownBeacon[] {
    const out: KnownBeacon[] = [];
    for (let i = 0; i < maxSteps; i++) {
      const w = this.nextWindow;
      if (nowMs <= this.cutoffOf(w)) break;
      const prev = w === 0 ? { beacon: this.seed, fromGenesis: true } : this.beacons.get(w - 1);
      if (prev === undefined) break;
      const anchors = this.anchors(w);
      if (anchors === undefined) break;
      const b = { window: w, beacon: beaconHash(w, prev.beacon, anchors), fromGenesis: prev.fromGenesis };
      this.store(b);
      this.nextWindow = w + 1;
      out.push(b);
    }
    return out;
  }

  /** R_w from this view's anchors on a given R_{w−1}; undefined when the anchors are not settled or not held. */
  beaconOn(w: number, prev: Uint8Array): Uint8Array | undefined {
    const anchors = this.anchors(w);
    return anchors && beaconHash(w, prev, anchors);
  }

  /**
   * Keeps R_w computed on a previous beacon taken from elsewhere (the edge's
   * published R_{w−1}) when this view cannot chain to it: the beacon chain
   * continues from w, and what it held from w on is dropped. Undefined when
   * the anchors are not settled or not held.
   */
  adopt(w: number, prev: Uint8Array): KnownBeacon | undefined {
    const beacon = this.beaconOn(w, prev);
    if (beacon === undefined) return undefined;
    const b: KnownBeacon = { window: w, beacon, fromGenesis: w === 0 && equalBytes(prev, this.seed) };
    for (const k of this.beacons.keys()) if (k >= w) this.beacons.delete(k);
    this.store(b);
    this.nextWindow = w + 1;
    return b;
  }
}
