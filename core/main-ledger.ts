/**
 * The MAIN ledger (DESIGN §5, docs/protocol.md §19): which MAIN txs and
 * conversions of a window count, and the fold of decided windows into
 * accounts, pools, the public treasury and the releases owed to sectors.
 *
 * Everything here is a pure function of chain data: the txs of a window, the
 * record entries with their inclusion proofs, and a view of every sector's
 * best chain (`ChainView`). A node and the edge that hold the same best
 * chains compute the same `mainStateRoot`.
 *
 * - Deadlines. For a tx of window w with selection order o and `count`
 *   sectors needed, the sector at position i of o may count a record only
 *   from a best-chain block of window b with w < b ≤ w + fallbackWindows
 *   (i < count, a primary) or ≤ w + recordWindows (a fallback). The counted
 *   sectors are the first `count` of o that recorded in time; a sector whose
 *   chain is settled past its deadline without a record is passed over.
 * - Decided. A window is decided once every sector is settled through
 *   w + recordWindows: its best chain holds a block with `mainConfirmations`
 *   confirmations whose median-time-past lies past the end of that window.
 *   No later block can then change which records count.
 * - Fold, per decided window, in this order: conversions clear per origin
 *   sector at one batch price (those below `minMain` excluded first and
 *   refunded); MAIN transfers apply in (nonce, txid) order; fee shares clear
 *   per sector the other way along its curve into releases to the recording
 *   miners.
 * @module
 */
import { verifyBodyInclusion, type BodyInclusionProof } from './block.js';
import { compareBytes, equalBytes, fromHex, toHex } from './bytes.js';
import { encodeWith, U64_MAX, Writer } from './codec.js';
import { taggedHash, TAGS } from './hash.js';
import { blockId, type BlockHeader } from './header.js';
import { addressOf, ADDRESS_BYTES } from './keys.js';
import { merkleRoot } from './merkle.js';
import type { MainParams, NetworkSpec } from './params.js';
import { checkLock, lockId, lockLeaf, lockSector, lockTerms, type Lock, type LockTerms } from './lock.js';
import { encodeMainRecord, encodeWitnessRecord } from './record.js';
import { selectSectors } from './select.js';
import type { AccountState } from './state.js';
import { treasuryAddress } from './state-transition.js';
import { windowOf } from './time.js';
import { checkTx, MAIN_CHAIN, TASK_WORKS, txAmount, txId, type TaskWork, type Tx } from './tx.js';
import { freshResults, MAX_REDUNDANCY, resultCommit, tallyResults, taskProblem, type TaskEscrow } from './task.js';
import type { Verifier } from './keys.js';

// ---------------------------------------------------------------- deadlines

/** A record found on a sector's best chain, with what the fold needs of it. */
export interface RecordCandidate {
  sectorId: number;
  /** windowOf(block time). */
  blockWindow: number;
  blockId: Uint8Array;
  /** The block's miner (from the inclusion proof): who is paid the record's fee share. */
  miner: Uint8Array;
}

export type RecordParams = Pick<MainParams, 'recordWindows' | 'fallbackWindows'>;

/** The last block window in which position `index` of the order may record a tx of window `window`. */
export function recordDeadline(window: number, index: number, count: number, p: RecordParams): number {
  return window + (index < count ? p.fallbackWindows : p.recordWindows);
}

export type SectorRecordState = 'counted' | 'missed' | 'open';

export interface RecordProgress {
  /** Per position of the order. */
  states: SectorRecordState[];
  /** The counting record of each counted position (earliest block window, then lowest block id). */
  records: (RecordCandidate | undefined)[];
}

/**
 * Where each sector of the order stands for a tx of `window`: counted (a
 * best-chain record within its deadline), missed (its chain is settled past
 * the deadline without one) or open. `settled(s)` is the window sector s is
 * settled through (`settledThrough`).
 */
export function recordProgress(
  order: readonly number[],
  count: number,
  window: number,
  records: readonly RecordCandidate[],
  p: RecordParams,
  settled: (sectorId: number) => number,
): RecordProgress {
  const states: SectorRecordState[] = [];
  const chosen: (RecordCandidate | undefined)[] = [];
  order.forEach((s, i) => {
    const deadline = recordDeadline(window, i, count, p);
    let best: RecordCandidate | undefined;
    for (const r of records) {
      if (r.sectorId !== s || r.blockWindow <= window || r.blockWindow > deadline) continue;
      if (best === undefined || r.blockWindow < best.blockWindow || (r.blockWindow === best.blockWindow && compareBytes(r.blockId, best.blockId) < 0)) best = r;
    }
    chosen.push(best);
    states.push(best ? 'counted' : settled(s) >= deadline ? 'missed' : 'open');
  });
  return { states, records: chosen };
}

export type TxFate =
  | { status: 'final'; counted: RecordCandidate[] }
  | { status: 'void'; code: 'not-recorded' }
  | { status: 'open' };

/**
 * The fate of a tx: walk the order, taking counted sectors and passing over
 * missed ones, until `count` are taken (final) or the order ends (void); an
 * open sector before that leaves it open, since it could still take a place.
 */
export function decideTx(progress: RecordProgress, count: number): TxFate {
  const counted: RecordCandidate[] = [];
  for (let i = 0; i < progress.states.length; i++) {
    const st = progress.states[i]!;
    if (st === 'open') return { status: 'open' };
    if (st === 'counted') counted.push(progress.records[i]!);
    if (counted.length === count) return { status: 'final', counted };
  }
  return { status: 'void', code: 'not-recorded' };
}

/**
 * What can be said before the window is decided: final once `count`
 * sectors count (no later block can take that away, only a reorg), void once
 * too few can still count. Agrees with `decideTx` on every history in which
 * the counted records' blocks stay on their best chains.
 */
export function earlyFate(progress: RecordProgress, count: number): 'final' | 'void' | 'open' {
  const counted = progress.states.filter((s) => s === 'counted').length;
  const open = progress.states.filter((s) => s === 'open').length;
  if (counted >= count) return 'final';
  return counted + open < count ? 'void' : 'open';
}

/**
 * The window a sector is settled through, from the median-time-past of its
 * best-chain block at depth `mainConfirmations` (tip − confirmations + 1):
 * the highest W whose end that MTP is past. −2 when the chain is too short.
 */
export function settledThrough(mtpOfConfirmedMs: number | null, spec: Pick<NetworkSpec, 'genesisTimeMs' | 'main'>): number {
  if (mtpOfConfirmedMs === null) return -2;
  return windowOf(mtpOfConfirmedMs, spec.genesisTimeMs, spec.main.windowMs) - 1;
}

// ---------------------------------------------------------------- window data

/** What a node or the edge knows of every sector's best chain. */
export interface ChainView {
  /** The header `id` of `sectorId` if it is on that sector's best chain, with its confirmations there. */
  bestBlock(sectorId: number, id: Uint8Array): { header: BlockHeader; confirmations: number } | undefined;
  /** `settledThrough` of the sector. */
  settledThrough(sectorId: number): number;
}

/** A record entry reported for a tx: the block header and the entry's inclusion proof. */
export interface RecordEvidence {
  kind: 'main' | 'witness';
  txid: Uint8Array;
  sectorId: number;
  header: BlockHeader;
  proof: BodyInclusionProof;
}

export interface ConversionData {
  /** A Convert tx, or a mandatory recycling entry (core/lock.ts). */
  lock: Lock;
  /** The origin block holding the lock, and the lock's proof in its txs (or settlements) section. */
  originBlock: Uint8Array;
  /** That block's height, as the edge placed it: not part of the decision (the block must be on the folder's own best chain), but what tells a folder whether its view reaches back that far. */
  originHeight: number;
  lockProof: BodyInclusionProof;
}

/** Everything about one window: its txs, their beacon R_{w+1} and the records reported for them. */
export interface WindowData {
  window: number;
  /** R_{window+1}, which drew the sectors. */
  beacon: Uint8Array;
  main: Tx[];
  conversions: ConversionData[];
  records: RecordEvidence[];
}

export type IgnoredCode = 'bad-tx' | 'bad-lock' | 'duplicate-tx' | 'bad-task';

export interface DecidedTx {
  tx: Tx;
  txid: Uint8Array;
  fate: Exclude<TxFate, { status: 'open' }>;
  order: number[];
}

/** A decided conversion: its lock's terms instead of a tx. */
export interface DecidedConversion {
  lock: Lock;
  /** The lock's id (core/lock.ts `lockId`). */
  txid: Uint8Array;
  fate: Exclude<TxFate, { status: 'open' }>;
  order: number[];
}

export interface DecidedWindow {
  window: number;
  main: DecidedTx[];
  conversions: DecidedConversion[];
  /** Txs of the data that are no part of the ledger: bad signature, a lock not on the origin's best chain, a repeat. */
  ignored: { txid: string; code: IgnoredCode }[];
}

export interface DecideOptions {
  networkId: Uint8Array;
  verify?: Verifier;
}

/** Is every sector settled through window + recordWindows? */
export function windowDecidable(spec: NetworkSpec, window: number, chains: ChainView): boolean {
  return spec.sectors.every((s) => chains.settledThrough(s.id) >= window + spec.main.recordWindows);
}

/**
 * A record counts only when its block is on its sector's best chain and its
 * proof shows exactly the entry rebuilt from the tx (and window, and lock)
 * under that block's body root, in the right section.
 */
function candidatesFor(
  kind: 'main' | 'witness',
  txid: Uint8Array,
  entry: Uint8Array,
  order: readonly number[],
  evidence: readonly RecordEvidence[],
  chains: ChainView,
  spec: NetworkSpec,
): RecordCandidate[] {
  const section = kind === 'main' ? 'mainRecords' : 'witnessRecords';
  const out: RecordCandidate[] = [];
  for (const e of evidence) {
    if (e.kind !== kind || e.sectorId !== e.header.sectorId || !order.includes(e.sectorId)) continue;
    if (compareBytes(e.txid, txid) !== 0 || e.proof.section !== section) continue;
    const id = blockId(e.header);
    const best = chains.bestBlock(e.sectorId, id);
    if (best === undefined) continue;
    if (!verifyBodyInclusion(entry, e.proof, best.header.bodyRoot)) continue;
    out.push({ sectorId: e.sectorId, blockWindow: windowOf(best.header.timeMs, spec.genesisTimeMs, spec.main.windowMs), blockId: id, miner: e.proof.miner });
  }
  return out;
}

/**
 * Decides a window from its data on a chain view: undefined while some
 * sector is not settled through window + recordWindows. Txs that fail
 * `checkTx`, conversions whose lock is not proven on the origin's best chain
 * with `mainConfirmations`, and repeats are ignored (listed with their code).
 */
export function decideWindow(spec: NetworkSpec, data: WindowData, chains: ChainView, opts: DecideOptions): DecidedWindow | undefined {
  if (!windowDecidable(spec, data.window, chains)) return undefined;
  const m = spec.main;
  const sectors = spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight }));
  const seen = new Set<string>();
  const out: DecidedWindow = { window: data.window, main: [], conversions: [], ignored: [] };
  const decide = (kind: 'main' | 'witness', txid: Uint8Array, entry: Uint8Array, origin: number | null) => {
    const count = kind === 'main' ? m.recordSectors : m.witnessSectors;
    const sel = selectSectors({ purpose: kind === 'main' ? 'record' : 'witness', beacon: data.beacon, txid, origin, sectors, count });
    if (!sel.ok) return undefined;
    const cands = candidatesFor(kind, txid, entry, sel.value.order, data.records, chains, spec);
    const fate = decideTx(recordProgress(sel.value.order, count, data.window, cands, m, (s) => chains.settledThrough(s)), count);
    // windowDecidable settles every deadline, so no sector is open here.
    if (fate.status === 'open') throw new Error('decideWindow: an open fate in a decided window');
    return { fate, order: sel.value.order };
  };
  const once = (txid: Uint8Array): boolean => {
    const key = toHex(txid);
    if (seen.has(key)) {
      out.ignored.push({ txid: key, code: 'duplicate-tx' });
      return false;
    }
    seen.add(key);
    return true;
  };
  for (const tx of data.main) {
    const r = checkTx(tx, { networkId: opts.networkId, chain: MAIN_CHAIN, verify: opts.verify });
    if (!r.ok || tx.payload.kind === 'convert') {
      out.ignored.push({ txid: toHex(txId(tx)), code: 'bad-tx' });
      continue;
    }
    // A task this network cannot run (unknown sector, a shape its lottery refuses) is no part of the ledger.
    if (tx.payload.kind === 'task' && taskProblem(tx.payload, spec) !== null) {
      out.ignored.push({ txid: toHex(r.value), code: 'bad-task' });
      continue;
    }
    if (!once(r.value)) continue;
    const d = decide('main', r.value, encodeMainRecord({ window: data.window, tx }), null);
    if (d) out.main.push({ tx, txid: r.value, ...d });
  }
  for (const c of data.conversions) {
    const { lock } = c;
    // A Convert tx of a sector (signed), or a recycle entry of an account its sector names.
    const r = checkLock(lock, spec, opts);
    if (!r.ok) {
      out.ignored.push({ txid: toHex(lockId(lock)), code: 'bad-tx' });
      continue;
    }
    // The lock: on the origin's best chain, buried deep enough, and proven in that block's section.
    const sector = lockSector(lock);
    const origin = chains.bestBlock(sector, c.originBlock);
    const { section, leaf } = lockLeaf(lock);
    if (
      origin === undefined ||
      origin.confirmations < m.mainConfirmations ||
      c.lockProof.section !== section ||
      !verifyBodyInclusion(leaf, c.lockProof, origin.header.bodyRoot)
    ) {
      out.ignored.push({ txid: toHex(r.value), code: 'bad-lock' });
      continue;
    }
    if (!once(r.value)) continue;
    const entry = encodeWitnessRecord({ window: data.window, originSector: sector, originBlock: c.originBlock, lock, lockProof: c.lockProof });
    const d = decide('witness', r.value, entry, sector);
    if (d) out.conversions.push({ lock, txid: r.value, ...d });
  }
  return out;
}

// ---------------------------------------------------------------- the fold

export interface Pool {
  /** Sector-token reserve. */
  sector: bigint;
  /** Virtual MAIN reserve: MAIN is minted out of it, never pre-mined. */
  main: bigint;
}

export interface SectorTreasury {
  locked: bigint;
  released: bigint;
  /** Releases owed so far: the next release's `seq`. */
  releases: bigint;
}

export interface MainLedger {
  /** The last folded window; −1 before the first. */
  window: number;
  /** MAIN accounts by address (hex); the public treasury is one of them. */
  accounts: Map<string, AccountState>;
  pools: Map<number, Pool>;
  treasuries: Map<number, SectorTreasury>;
  minted: bigint;
  burnt: bigint;
  /** Conversions folded so far (txid hex): a lock mints once. */
  conversions: Set<string>;
  /** Final tasks by task tx id (hex), open or ended: what matmul blocks are checked against. */
  tasks: Map<string, TaskEscrow>;
  /** Hash chain over every window's outcomes: what the root commits to beyond the balances. */
  journal: Uint8Array;
}

/** Why a tx that reached the fold did not apply. */
export type VoidCode =
  | 'not-recorded'
  | 'not-witnessed'
  | 'below-min-main'
  | 'duplicate-conversion'
  | 'tx-bad-nonce'
  | 'tx-nonce-exhausted'
  | 'tx-insufficient-funds'
  | 'tx-balance-overflow'
  | 'task-unknown'
  | 'task-closed'
  | 'task-full'
  | 'task-tried'
  | 'task-duplicate-commit'
  | 'task-late-commit'
  | 'task-no-commit'
  | 'task-revealed'
  | 'task-reveal-early'
  | 'task-bad-reveal';

export type ReleaseReason = 'refund' | 'fee' | 'task';
export const RELEASE_REASONS: readonly ReleaseReason[] = ['refund', 'fee', 'task'];

/** Sector tokens owed out of a sector's treasury: a deterministic output of the fold. */
export interface Release {
  /** H_tag("pouw/release", u64 window ‖ u8 reason ‖ txid ‖ u32 sector ‖ u32 index), hex. */
  id: string;
  /** Its place among the sector's releases in fold order, from 0: what the sector chain counts applied ones by (core/settlement.ts). */
  seq: bigint;
  /** The window whose fold owes it. */
  window: number;
  sectorId: number;
  to: Uint8Array;
  amount: bigint;
  reason: ReleaseReason;
  txid: string;
}

/** One (sector, window) batch: what went in and came out of the pool. */
export interface Batch {
  sectorId: number;
  /** Sector tokens converted (ΔS) and MAIN minted for them. */
  converted: bigint;
  minted: bigint;
  /** MAIN fee shares sold back and the sector tokens released for them. */
  feeMain: bigint;
  feeReleased: bigint;
}

export interface WindowResult {
  window: number;
  root: Uint8Array;
  /** What applied: MAIN transfers (amount moved from → to) and conversions (MAIN minted to `to`). */
  applied: { txid: string; kind: 'main' | 'conversion'; amount: bigint; from: Uint8Array; to: Uint8Array }[];
  void: { txid: string; kind: 'main' | 'conversion'; code: VoidCode }[];
  releases: Release[];
  batches: Batch[];
  /**
   * Tasks made final by this window, accepted (their escrow paid to the
   * agreeing executors), reassigned (a round whose results did not agree),
   * and expired (the deadline passed: the escrow refunded).
   */
  tasks: TaskEvent[];
}

export const TASK_EVENTS = ['final', 'expired', 'accepted', 'reassigned'] as const;
export interface TaskEvent {
  id: string;
  event: (typeof TASK_EVENTS)[number];
  escrow: bigint;
  /** accepted: the result's blob hash, its confidence (bps) and the executors paid (their payTo, hex). */
  result?: string;
  confidence?: number;
  paid?: string[];
}

/** The public treasury: the treasury address of chain 0 (core/state-transition.ts), which no key controls. */
export function mainTreasuryAddress(): Uint8Array {
  return treasuryAddress(MAIN_CHAIN);
}
const TREASURY_KEY = toHex(mainTreasuryAddress());
/** Where an applied task tx's amount went, as `WindowResult.applied` names it: no account, the ledger's task escrows. */
export const TASK_ESCROW_ADDRESS = new Uint8Array(ADDRESS_BYTES);

export function newLedger(spec: NetworkSpec): MainLedger {
  return {
    window: -1,
    accounts: new Map(),
    pools: new Map(spec.sectors.map((s) => [s.id, { sector: s.initialReserves.sector, main: s.initialReserves.main }])),
    treasuries: new Map(spec.sectors.map((s) => [s.id, { locked: 0n, released: 0n, releases: 0n }])),
    minted: 0n,
    burnt: 0n,
    conversions: new Set(),
    tasks: new Map(),
    journal: taggedHash(TAGS.mainJournal),
  };
}

export function cloneLedger(l: MainLedger): MainLedger {
  return {
    window: l.window,
    accounts: new Map([...l.accounts].map(([k, v]) => [k, { ...v }])),
    pools: new Map([...l.pools].map(([k, v]) => [k, { ...v }])),
    treasuries: new Map([...l.treasuries].map(([k, v]) => [k, { ...v }])),
    minted: l.minted,
    burnt: l.burnt,
    conversions: new Set(l.conversions),
    tasks: new Map([...l.tasks].map(([k, v]) => [k, { ...v, commits: v.commits.map((c) => ({ ...c })), tried: [...v.tried] }])),
    journal: l.journal,
  };
}

export function balanceOf(l: MainLedger, address: Uint8Array | string): AccountState {
  return l.accounts.get(typeof address === 'string' ? address : toHex(address)) ?? { balance: 0n, nonce: 0n };
}

function credit(l: MainLedger, key: string, amount: bigint): void {
  if (amount === 0n) return;
  const a = l.accounts.get(key);
  if (a) a.balance += amount;
  else l.accounts.set(key, { balance: amount, nonce: 0n });
}

function releaseId(window: number, reason: ReleaseReason, txid: string, sectorId: number, index: number): string {
  const w = new Writer(64).u64(BigInt(window)).u8(RELEASE_REASONS.indexOf(reason) + 1);
  w.fixed(fromHex(txid), 32).u32(sectorId).u32(index);
  return toHex(taggedHash(TAGS.release, w.finish()));
}

/** MAIN minted for ΔS sector tokens into pool p: ⌊M·ΔS / (S + ΔS)⌋. */
export function mintFor(p: Pool, deltaS: bigint): bigint {
  return deltaS === 0n ? 0n : (p.main * deltaS) / (p.sector + deltaS);
}

/** Sector tokens out for ΔM MAIN sold into pool p: ⌊S·ΔM / (M + ΔM)⌋. */
export function releaseFor(p: Pool, deltaM: bigint): bigint {
  return deltaM === 0n ? 0n : (p.sector * deltaM) / (p.main + deltaM);
}

interface PendingConversion {
  txid: string;
  terms: LockTerms;
}

/**
 * Folds one decided window into `l` (mutated: clone first to keep the old
 * state). Windows must come in increasing order.
 */
export function foldWindow(l: MainLedger, d: DecidedWindow, spec: NetworkSpec): WindowResult {
  if (d.window <= l.window) throw new RangeError(`window ${d.window} is not after the last folded window ${l.window}`);
  const m = spec.main;
  const res: WindowResult = { window: d.window, root: new Uint8Array(32), applied: [], void: [], releases: [], batches: [], tasks: [] };
  const releaseCounts = new Map<string, number>();
  const release = (sectorId: number, to: Uint8Array, amount: bigint, reason: ReleaseReason, txid: string) => {
    const t = l.treasuries.get(sectorId)!;
    t.released += amount;
    const k = `${reason}:${txid}:${sectorId}`;
    const index = releaseCounts.get(k) ?? 0;
    releaseCounts.set(k, index + 1);
    res.releases.push({ id: releaseId(d.window, reason, txid, sectorId, index), seq: t.releases, window: d.window, sectorId, to, amount, reason, txid });
    t.releases += 1n;
  };
  const batches = new Map<number, Batch>();
  const batchOf = (sectorId: number) => {
    let b = batches.get(sectorId);
    if (!b) batches.set(sectorId, (b = { sectorId, converted: 0n, minted: 0n, feeMain: 0n, feeReleased: 0n }));
    return b;
  };

  // 1. Conversions, per origin sector, cleared at one price.
  const bySector = new Map<number, PendingConversion[]>();
  for (const c of [...d.conversions].sort((a, b) => compareBytes(a.txid, b.txid))) {
    const txid = toHex(c.txid);
    const terms = lockTerms(c.lock);
    if (l.conversions.has(txid)) {
      res.void.push({ txid, kind: 'conversion', code: 'duplicate-conversion' });
      continue;
    }
    l.conversions.add(txid);
    l.treasuries.get(terms.sector)!.locked += terms.amount;
    if (c.fate.status !== 'final') {
      res.void.push({ txid, kind: 'conversion', code: 'not-witnessed' });
      release(terms.sector, terms.refundTo, terms.amount, 'refund', txid);
      continue;
    }
    let list = bySector.get(terms.sector);
    if (!list) bySector.set(terms.sector, (list = []));
    list.push({ txid, terms });
  }
  for (const sectorId of [...bySector.keys()].sort((a, b) => a - b)) {
    const pool = l.pools.get(sectorId)!;
    let batch = bySector.get(sectorId)!;
    // Exclude those whose share falls below their minMain, until none does: fewer in, a better price for the rest.
    for (;;) {
      const deltaS = batch.reduce((s, c) => s + c.terms.amount, 0n);
      const minted = mintFor(pool, deltaS);
      const below = batch.filter((c) => (minted * c.terms.amount) / deltaS < c.terms.minMain);
      if (below.length === 0) break;
      for (const c of below) {
        res.void.push({ txid: c.txid, kind: 'conversion', code: 'below-min-main' });
        release(sectorId, c.terms.refundTo, c.terms.amount, 'refund', c.txid);
      }
      batch = batch.filter((c) => !below.includes(c));
      if (batch.length === 0) break;
    }
    if (batch.length === 0) continue;
    const deltaS = batch.reduce((s, c) => s + c.terms.amount, 0n);
    const minted = mintFor(pool, deltaS);
    let paid = 0n;
    for (const c of batch) {
      const share = (minted * c.terms.amount) / deltaS;
      credit(l, toHex(c.terms.mainTo), share);
      paid += share;
      res.applied.push({ txid: c.txid, kind: 'conversion', amount: share, from: c.terms.refundTo, to: c.terms.mainTo });
    }
    // The dust of the division stays in the virtual reserve.
    pool.sector += deltaS;
    pool.main -= paid;
    l.minted += paid;
    const b = batchOf(sectorId);
    b.converted = deltaS;
    b.minted = paid;
  }

  // 2. Tasks past their deadline: the escrow goes back to the submitter.
  const expiring = [...l.tasks.values()].filter((t) => t.status === 'open' && t.deadline < d.window).sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const t of expiring) {
    t.status = 'expired';
    credit(l, toHex(t.submitter), t.escrow);
    res.tasks.push({ id: t.id, event: 'expired', escrow: t.escrow });
  }

  // 3. MAIN transfers, task escrows and results, a sender's nonces in order.
  const fees = new Map<number, Share[]>();
  const touched = new Set<string>();
  const mainTxs = [...d.main].sort((a, b) => (a.tx.nonce < b.tx.nonce ? -1 : a.tx.nonce > b.tx.nonce ? 1 : compareBytes(a.txid, b.txid)));
  for (const t of mainTxs) {
    const txid = toHex(t.txid);
    if (t.fate.status !== 'final') {
      res.void.push({ txid, kind: 'main', code: 'not-recorded' });
      continue;
    }
    const code = applyMainTx(l, t.tx, txid, d.window, t.fate.counted, m.tollBps, fees, touched);
    if (code) {
      res.void.push({ txid, kind: 'main', code });
      continue;
    }
    const p = t.tx.payload;
    const to = p.kind === 'transfer' ? p.to : TASK_ESCROW_ADDRESS;
    res.applied.push({ txid, kind: 'main', amount: txAmount(p), from: addressOf(t.tx.from), to });
    if (p.kind === 'task') res.tasks.push({ id: txid, event: 'final', escrow: p.amount });
  }

  // 3b. Results: a task with new reveals, or at its last window, is tallied (core/task.ts tallyResults).
  const due = [...l.tasks.values()].filter((t) => t.status === 'open' && (touched.has(t.id) || t.deadline === d.window)).sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const t of due) {
    const complete = t.deadline === d.window || (t.commits.length >= t.redundancy && t.commits.every((c) => c.result !== null));
    const v = tallyResults(t, complete);
    if (v.verdict === 'wait') continue;
    if (v.verdict === 'reassign') {
      t.tried.push(...t.commits.map((c) => c.executor));
      t.commits = [];
      t.revealFrom = null;
      t.round += 1;
      res.tasks.push({ id: t.id, event: 'reassigned', escrow: t.escrow });
      continue;
    }
    // Accepted: the escrow is shared by the agreeing executors, sold for sector tokens with the fee shares below; outliers get nothing.
    t.status = 'accepted';
    t.result = v.result;
    t.confidence = v.confidence;
    const each = t.escrow / BigInt(v.agreeing.length);
    credit(l, TREASURY_KEY, t.escrow - each * BigInt(v.agreeing.length));
    for (const c of v.agreeing) share(fees, t.sector, { miner: c.payTo, amount: each, txid: t.id, reason: 'task' });
    res.tasks.push({ id: t.id, event: 'accepted', escrow: t.escrow, result: toHex(v.result), confidence: v.confidence, paid: v.agreeing.map((c) => toHex(c.payTo)) });
  }

  // 4. Fee shares, per sector, sold back along the curve into releases to the recording miners.
  for (const sectorId of [...fees.keys()].sort((a, b) => a - b)) {
    const shares = fees.get(sectorId)!;
    const pool = l.pools.get(sectorId)!;
    const t = l.treasuries.get(sectorId)!;
    const inMain = shares.reduce((s, x) => s + x.amount, 0n);
    const available = t.locked - t.released;
    const curve = releaseFor(pool, inMain);
    const out = curve < available ? curve : available;
    if (out === 0n) {
      // Nothing in the sector treasury to pay with yet: fee shares stay with the public treasury, an executor is paid in MAIN.
      for (const s of shares) credit(l, s.reason === 'task' ? toHex(s.miner) : TREASURY_KEY, s.amount);
      continue;
    }
    let given = 0n;
    for (const s of shares) {
      const amount = (out * s.amount) / inMain;
      if (amount === 0n) continue;
      release(sectorId, s.miner, amount, s.reason, s.txid);
      given += amount;
    }
    pool.main += inMain;
    pool.sector -= given;
    l.burnt += inMain;
    const b = batchOf(sectorId);
    b.feeMain = inMain;
    b.feeReleased = given;
  }
  res.batches = [...batches.values()].sort((a, b) => a.sectorId - b.sectorId);
  l.window = d.window;
  l.journal = taggedHash(TAGS.mainJournal, l.journal, windowDigest(res));
  res.root = mainStateRoot(l);
  return res;
}

/**
 * Decides window `data` on `chains` and folds it into a copy of `ledger`:
 * the new ledger and the outcome, or undefined while the window is not
 * decided. What the edge and every node run per window.
 */
export function decideAndFold(
  ledger: MainLedger,
  data: WindowData,
  chains: ChainView,
  spec: NetworkSpec,
  opts: DecideOptions,
): { ledger: MainLedger; result: WindowResult; ignored: DecidedWindow['ignored'] } | undefined {
  const d = decideWindow(spec, data, chains, opts);
  if (d === undefined) return undefined;
  const next = cloneLedger(ledger);
  return { ledger: next, result: foldWindow(next, d, spec), ignored: d.ignored };
}

/** A MAIN amount owed to a sector address, sold for that sector's tokens in the window's batch: a fee share or an executor's pay. */
interface Share {
  miner: Uint8Array;
  amount: bigint;
  txid: string;
  reason: 'fee' | 'task';
}

function share(fees: Map<number, Share[]>, sectorId: number, s: Share): void {
  let list = fees.get(sectorId);
  if (!list) fees.set(sectorId, (list = []));
  list.push(s);
}

/** Why a result tx cannot apply to its task now, or undefined (the task and the sender's commit, for a reveal). */
function resultProblem(l: MainLedger, tx: Tx, window: number): VoidCode | undefined {
  const p = tx.payload;
  if (p.kind !== 'commit' && p.kind !== 'reveal') return undefined;
  const t = l.tasks.get(toHex(p.task));
  if (t === undefined) return 'task-unknown';
  if (t.status !== 'open' || window > t.deadline) return 'task-closed';
  const executor = toHex(addressOf(tx.from));
  const mine = t.commits.find((c) => c.executor === executor);
  if (p.kind === 'commit') {
    if (t.tried.includes(executor)) return 'task-tried';
    if (mine) return 'task-duplicate-commit';
    // Once a result is out, a new commit could copy it.
    if (t.revealFrom !== null) return 'task-late-commit';
    if (t.commits.length >= t.redundancy) return 'task-full';
    return undefined;
  }
  if (!mine) return 'task-no-commit';
  if (mine.result !== null) return 'task-revealed';
  // The commit must be folded before its reveal, and before the round's first reveal.
  if (mine.window >= window) return 'task-reveal-early';
  if (t.revealFrom !== null && mine.window >= t.revealFrom) return 'task-late-commit';
  if (!equalBytes(resultCommit(p.task, addressOf(tx.from), p.salt, p.result), mine.commit)) return 'task-bad-reveal';
  return undefined;
}

/** Applies one final MAIN transfer, task, commit or reveal, or returns why it is void (nothing changed then). */
function applyMainTx(
  l: MainLedger,
  tx: Tx,
  txid: string,
  window: number,
  counted: readonly RecordCandidate[],
  tollBps: number,
  fees: Map<number, Share[]>,
  touched: Set<string>,
): VoidCode | undefined {
  const p = tx.payload;
  // decideWindow admits these kinds only: anything else here is a caller's bug, not a void tx.
  if (p.kind === 'convert') throw new RangeError(`a MAIN ${p.kind} tx cannot be folded`);
  const fromKey = toHex(addressOf(tx.from));
  const from = l.accounts.get(fromKey) ?? { balance: 0n, nonce: 0n };
  if (tx.nonce !== from.nonce) return 'tx-bad-nonce';
  if (from.nonce === U64_MAX) return 'tx-nonce-exhausted';
  const cost = txAmount(p) + tx.fee;
  if (from.balance < cost) return 'tx-insufficient-funds';
  const problem = resultProblem(l, tx, window);
  if (problem) return problem;
  if (p.kind === 'commit' || p.kind === 'reveal') {
    l.accounts.set(fromKey, { balance: from.balance - cost, nonce: from.nonce + 1n });
    const t = l.tasks.get(toHex(p.task))!;
    if (p.kind === 'commit') {
      t.commits.push({ executor: fromKey, commit: p.commit, payTo: p.payTo, window, result: null });
    } else {
      t.commits.find((c) => c.executor === fromKey)!.result = p.result;
      t.revealFrom ??= window;
      touched.add(t.id);
    }
  } else if (p.kind === 'transfer') {
    const toKey = toHex(p.to);
    const toBefore = toKey === fromKey ? from.balance - cost : (l.accounts.get(toKey)?.balance ?? 0n);
    if (toBefore + p.amount > U64_MAX) return 'tx-balance-overflow';
    l.accounts.set(fromKey, { balance: from.balance - cost, nonce: from.nonce + 1n });
    credit(l, toKey, p.amount);
  } else {
    l.accounts.set(fromKey, { balance: from.balance - cost, nonce: from.nonce + 1n });
    const { sector, work, m, k, n, commitA, commitB, redundancy, amount, deadline } = p;
    l.tasks.set(txid, {
      id: txid,
      submitter: addressOf(tx.from),
      sector,
      work,
      m,
      k,
      n,
      commitA,
      commitB,
      redundancy,
      escrow: amount,
      deadline: Number(deadline),
      window,
      status: 'open',
      ...freshResults(),
    });
  }
  // The fee: the toll stays with the treasury, the rest is split over the counted records.
  const toll = (tx.fee * BigInt(tollBps)) / 10_000n;
  const rest = tx.fee - toll;
  const each = counted.length > 0 ? rest / BigInt(counted.length) : 0n;
  credit(l, TREASURY_KEY, tx.fee - each * BigInt(counted.length));
  if (each > 0n) for (const r of counted) share(fees, r.sectorId, { miner: r.miner, amount: each, txid, reason: 'fee' });
  return undefined;
}

const VOID_CODES: readonly VoidCode[] = [
  'not-recorded',
  'not-witnessed',
  'below-min-main',
  'duplicate-conversion',
  'tx-bad-nonce',
  'tx-nonce-exhausted',
  'tx-insufficient-funds',
  'tx-balance-overflow',
  'task-unknown',
  'task-closed',
  'task-full',
  'task-tried',
  'task-duplicate-commit',
  'task-late-commit',
  'task-no-commit',
  'task-revealed',
  'task-reveal-early',
  'task-bad-reveal',
];

/** Canonical bytes of a window's outcomes, hashed into the journal. */
function windowDigest(r: WindowResult): Uint8Array {
  return encodeWith((w) => {
    w.u64(BigInt(r.window));
    w.list(r.applied, 1 << 24, (w2, a) => w2.fixed(fromHex(a.txid), 32).u8(a.kind === 'main' ? 1 : 2).u64(a.amount));
    w.list(r.void, 1 << 24, (w2, v) => w2.fixed(fromHex(v.txid), 32).u8(v.kind === 'main' ? 1 : 2).u8(VOID_CODES.indexOf(v.code)));
    w.list(r.releases, 1 << 24, (w2, x) => w2.fixed(fromHex(x.id), 32).u32(x.sectorId).fixed(x.to, ADDRESS_BYTES).u64(x.amount));
    w.list(r.tasks, 1 << 24, (w2, t) => {
      w2.fixed(fromHex(t.id), 32).u8(TASK_EVENTS.indexOf(t.event) + 1).u64(t.escrow);
      if (t.event === 'accepted') w2.fixed(fromHex(t.result!), 32).u32(t.confidence!).list(t.paid!, MAX_REDUNDANCY, (w3, a) => w3.fixed(fromHex(a), ADDRESS_BYTES));
    });
  });
}


/**
 * mainStateRoot(W): merkle root over the window and journal, every account
 * in address order, every pool and sector treasury in sector order, and the
 * minted and burnt totals.
 */
export function mainStateRoot(l: MainLedger): Uint8Array {
  const leaves: Uint8Array[] = [new Writer(48).u8(0).u64(BigInt(l.window + 1)).fixed(l.journal, 32).finish()];
  for (const key of [...l.accounts.keys()].sort()) {
    const a = l.accounts.get(key)!;
    leaves.push(new Writer(40).u8(1).fixed(fromHex(key), ADDRESS_BYTES).u64(a.balance).u64(a.nonce).finish());
  }
  for (const id of [...l.pools.keys()].sort((a, b) => a - b)) {
    const p = l.pools.get(id)!;
    const t = l.treasuries.get(id)!;
    leaves.push(new Writer(48).u8(2).u32(id).u64(p.sector).u64(p.main).u64(t.locked).u64(t.released).u64(t.releases).finish());
  }
  leaves.push(new Writer(24).u8(3).u64(l.minted).u64(l.burnt).finish());
  for (const id of [...l.tasks.keys()].sort()) {
    const t = l.tasks.get(id)!;
    leaves.push(taskLeaf(t));
  }
  return merkleRoot(leaves);
}

/** A task's state-root leaf: its id, status, escrow, round, this round's commits (and reveals), the executors tried, the accepted result. */
function taskLeaf(t: TaskEscrow): Uint8Array {
  return encodeWith((w) => {
    w.u8(4).fixed(fromHex(t.id), 32).u8(TASK_STATUSES.indexOf(t.status)).u64(t.escrow).u32(t.round);
    w.list(t.commits, MAX_REDUNDANCY, (w2, c) => {
      w2.fixed(fromHex(c.executor), ADDRESS_BYTES).fixed(c.commit, 32).fixed(c.payTo, ADDRESS_BYTES).u64(BigInt(c.window));
      w2.u8(c.result === null ? 0 : 1);
      if (c.result !== null) w2.fixed(c.result, 32);
    });
    w.list(t.tried, 1 << 16, (w2, a) => w2.fixed(fromHex(a), ADDRESS_BYTES));
    w.u64(BigInt((t.revealFrom ?? -1) + 1)).u8(t.result === null ? 0 : 1);
    if (t.result !== null) w.fixed(t.result, 32).u32(t.confidence);
  });
}

const TASK_STATUSES: readonly TaskEscrow['status'][] = ['open', 'expired', 'accepted'];

/** MAIN in circulation: every account's balance (the public treasury's included) and the escrows of open tasks. */
export function mainSupply(l: MainLedger): bigint {
  let s = 0n;
  for (const a of l.accounts.values()) s += a.balance;
  for (const t of l.tasks.values()) if (t.status === 'open') s += t.escrow;
  return s;
}

// ---------------------------------------------------------------- persistence

/** A ledger as plain JSON (amounts as decimal strings), for stores that keep it between windows. */
export interface LedgerJson {
  window: number;
  accounts: [string, string, string][];
  pools: [number, string, string][];
  treasuries: [number, string, string, string][];
  minted: string;
  burnt: string;
  conversions: string[];
  tasks?: TaskEscrowJson[];
  journal: string;
}

/** A task escrow as JSON: amounts and bytes as strings. */
export interface TaskEscrowJson {
  id: string;
  submitter: string;
  sector: number;
  work: TaskWork;
  m: number;
  k: number;
  n: number;
  commitA: string;
  commitB: string;
  redundancy: number;
  escrow: string;
  deadline: number;
  window: number;
  status: TaskEscrow['status'];
  round?: number;
  commits?: { executor: string; commit: string; payTo: string; window: number; result: string | null }[];
  tried?: string[];
  revealFrom?: number | null;
  result?: string | null;
  confidence?: number;
}

function taskToJson(t: TaskEscrow): TaskEscrowJson {
  return {
    ...t,
    submitter: toHex(t.submitter),
    commitA: toHex(t.commitA),
    commitB: toHex(t.commitB),
    escrow: t.escrow.toString(),
    commits: t.commits.map((c) => ({ ...c, commit: toHex(c.commit), payTo: toHex(c.payTo), result: c.result === null ? null : toHex(c.result) })),
    tried: [...t.tried],
    result: t.result === null ? null : toHex(t.result),
  };
}

export function ledgerToJson(l: MainLedger): LedgerJson {
  return {
    window: l.window,
    accounts: [...l.accounts].map(([k, a]) => [k, a.balance.toString(), a.nonce.toString()]),
    pools: [...l.pools].map(([id, p]) => [id, p.sector.toString(), p.main.toString()]),
    treasuries: [...l.treasuries].map(([id, t]) => [id, t.locked.toString(), t.released.toString(), t.releases.toString()]),
    minted: l.minted.toString(),
    burnt: l.burnt.toString(),
    conversions: [...l.conversions],
    tasks: [...l.tasks.values()].map(taskToJson),
    journal: toHex(l.journal),
  };
}

/** The ledger a store kept; throws a RangeError on anything that is not one of this spec's. */
export function ledgerFromJson(j: LedgerJson, spec: NetworkSpec): MainLedger {
  const big = (v: unknown): bigint => {
    if (typeof v !== 'string' || !/^\d{1,20}$/.test(v)) throw new RangeError(`ledger: ${String(v)} is not an amount`);
    return BigInt(v);
  };
  const l = newLedger(spec);
  if (!Number.isSafeInteger(j.window) || j.window < -1) throw new RangeError('ledger: bad window');
  l.window = j.window;
  for (const [k, b, n] of j.accounts) {
    if (!/^[0-9a-f]{40}$/.test(k)) throw new RangeError(`ledger: bad address ${k}`);
    l.accounts.set(k, { balance: big(b), nonce: big(n) });
  }
  for (const [id, sv, mv] of j.pools) {
    if (!l.pools.has(id)) throw new RangeError(`ledger: unknown sector ${id}`);
    l.pools.set(id, { sector: big(sv), main: big(mv) });
  }
  for (const [id, lv, rv, nv] of j.treasuries) {
    if (!l.treasuries.has(id)) throw new RangeError(`ledger: unknown sector ${id}`);
    l.treasuries.set(id, { locked: big(lv), released: big(rv), releases: big(nv) });
  }
  l.minted = big(j.minted);
  l.burnt = big(j.burnt);
  l.conversions = new Set(j.conversions);
  const hex = (v: unknown, len: number): Uint8Array => {
    if (typeof v !== 'string' || v.length !== 2 * len || !/^[0-9a-f]*$/.test(v)) throw new RangeError(`ledger: ${String(v)} is not ${len} bytes of hex`);
    return fromHex(v);
  };
  const int = (v: unknown): number => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new RangeError(`ledger: ${String(v)} is not a count`);
    return v as number;
  };
  for (const t of j.tasks ?? []) {
    if (!TASK_WORKS.includes(t.work) || !TASK_STATUSES.includes(t.status)) throw new RangeError(`ledger: bad task ${t.id}`);
    hex(t.id, 32);
    l.tasks.set(t.id, {
      id: t.id,
      submitter: hex(t.submitter, ADDRESS_BYTES),
      sector: int(t.sector),
      work: t.work,
      m: int(t.m),
      k: int(t.k),
      n: int(t.n),
      commitA: hex(t.commitA, 32),
      commitB: hex(t.commitB, 32),
      redundancy: int(t.redundancy),
      escrow: big(t.escrow),
      deadline: int(t.deadline),
      window: int(t.window),
      status: t.status,
      round: int(t.round ?? 0),
      commits: (t.commits ?? []).map((c) => ({
        executor: toHex(hex(c.executor, ADDRESS_BYTES)),
        commit: hex(c.commit, 32),
        payTo: hex(c.payTo, ADDRESS_BYTES),
        window: int(c.window),
        result: c.result === null ? null : hex(c.result, 32),
      })),
      tried: (t.tried ?? []).map((a) => toHex(hex(a, ADDRESS_BYTES))),
      revealFrom: t.revealFrom === undefined || t.revealFrom === null ? null : int(t.revealFrom),
      result: t.result === undefined || t.result === null ? null : hex(t.result, 32),
      confidence: int(t.confidence ?? 0),
    });
  }
  if (!/^[0-9a-f]{64}$/.test(j.journal)) throw new RangeError('ledger: bad journal');
  l.journal = fromHex(j.journal);
  return l;
}
