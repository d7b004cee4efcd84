/**
 * Entries of the `settlements` body section (DESIGN §5): the releases the
 * MAIN fold owes a sector, credited out of the sector's treasury by its own
 * chain, and the mandatory recycling locks of an epoch's last block.
 *
 *   release settlement = u8 kind (0) ‖ u64 seq ‖ u64 window ‖ release id (32)
 *                        ‖ recipient (20) ‖ u64 amount
 *   recycle entry      = u8 kind (1) ‖ u64 epoch ‖ account (20) ‖ u64 amount
 *
 * The fold numbers each sector's releases in fold order (`seq`, from 0), so
 * "which releases has this chain applied" is one number: the nonce of the
 * sector's treasury account, which no key can spend from and whose nonce no
 * tx ever moves. A block's settlements continue that count without a gap;
 * the state transition checks the first against the treasury nonce, credits
 * each and advances it (core/state-transition.ts), so a reorg that
 * disconnects a settlement returns it to pending with the rest of the state,
 * and a release can be credited only once per branch.
 *
 * Three levels of rules:
 *  - shape, needing nothing but the block (`checkSettlements`): entries
 *    decode, amounts are positive, seqs are consecutive and windows do not
 *    go back;
 *  - state (`applyBlock`): the first seq is the treasury's nonce and the
 *    treasury holds each amount;
 *  - the MAIN fold (`matchSettlements`, run by the node before a block joins
 *    its tree): each entry is exactly release `seq` of this sector in the
 *    validator's own fold. An entry of a window the validator has not folded
 *    yet is neither right nor wrong: the block is held, not refused.
 * Every failure is `bad-settlement`.
 *
 * Recycle entries come after the releases, only in the last block of a
 * recycling epoch (height a multiple of `recycle.epochBlocks`), one per named
 * account owing something, in the spec's order (`checkRecycleShape`); their
 * amounts are the state transition's to check (`bad-recycle`). Each is a lock
 * to the treasury that the MAIN side witnesses and mints like a conversion.
 * @module
 */
import { equalBytes, fromHex, toHex } from './bytes.js';
import { decodeExact, encodeWith, type Reader } from './codec.js';
import { CodecError, fail, ok, type Result } from './errors.js';
import { ADDRESS_BYTES } from './keys.js';
import type { Release } from './main-ledger.js';
import type { RejectCode } from './reject.js';

const KIND_RELEASE = 0;
const KIND_RECYCLE = 1;
const RELEASE_BYTES = 1 + 8 + 8 + 32 + ADDRESS_BYTES + 8;
/** A recycle entry's encoded size: fixed, so locks and witness records carry it without a length. */
export const RECYCLE_ENTRY_BYTES = 1 + 8 + ADDRESS_BYTES + 8;

/** One release credited by a sector block. */
export interface ReleaseSettlement {
  kind: 'release';
  /** The release's place among its sector's releases, in fold order (from 0). */
  seq: bigint;
  /** The window whose fold owes it. */
  window: number;
  /** The release id (`Release.id`), 32 bytes. */
  id: Uint8Array;
  to: Uint8Array;
  amount: bigint;
}

/** A named account's mandatory recycling lock for one epoch. */
export interface RecycleEntry {
  kind: 'recycle';
  /** The epoch it closes: the block's height / epochBlocks. */
  epoch: bigint;
  account: Uint8Array;
  amount: bigint;
}

export type Settlement = ReleaseSettlement | RecycleEntry;

export function encodeSettlement(s: Settlement): Uint8Array {
  if (s.kind === 'recycle') {
    return encodeWith((w) => w.u8(KIND_RECYCLE).u64(s.epoch).fixed(s.account, ADDRESS_BYTES).u64(s.amount), RECYCLE_ENTRY_BYTES);
  }
  if (!Number.isSafeInteger(s.window) || s.window < 0) throw new RangeError('window must be a safe integer ≥ 0');
  return encodeWith((w) => {
    w.u8(KIND_RELEASE).u64(s.seq).u64(BigInt(s.window)).fixed(s.id, 32).fixed(s.to, ADDRESS_BYTES).u64(s.amount);
  }, RELEASE_BYTES);
}

export function decodeSettlement(bytes: Uint8Array): Settlement {
  return decodeExact(
    bytes,
    (r): Settlement => {
      const kind = r.u8('settlement kind');
      if (kind === KIND_RECYCLE) {
        const epoch = r.u64('recycle epoch');
        return { kind: 'recycle', epoch, account: r.fixed(ADDRESS_BYTES, 'recycle account'), amount: r.u64('amount') };
      }
      if (kind !== KIND_RELEASE) throw new CodecError('codec-bad-enum', `unknown settlement kind ${kind}`);
      const seq = r.u64('settlement seq');
      const window = r.u64('settlement window');
      if (window > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError('codec-out-of-range', 'window above 2^53 − 1');
      const id = r.fixed(32, 'release id');
      const to = r.fixed(ADDRESS_BYTES, 'recipient');
      const amount = r.u64('amount');
      return { kind: 'release' as const, seq, window: Number(window), id, to, amount };
    },
    'settlement',
  );
}

/** Reads a recycle entry (RECYCLE_ENTRY_BYTES) inside a larger encoding; a CodecError for a release entry or bad bytes. */
export function readRecycleEntry(r: Reader): RecycleEntry {
  const entry = decodeSettlement(r.fixed(RECYCLE_ENTRY_BYTES, 'recycle entry'));
  if (entry.kind !== 'recycle') throw new CodecError('codec-bad-enum', 'a release entry where a recycle entry belongs');
  return entry;
}

/** The settlement entry that credits `release` (its `seq` set by the fold). */
export function settlementOf(release: Release): ReleaseSettlement {
  return { kind: 'release', seq: release.seq, window: release.window, id: fromHex(release.id), to: release.to, amount: release.amount };
}

/** The release entries of a decoded settlements list (they come first). */
export function releasesOf(settlements: readonly Settlement[]): ReleaseSettlement[] {
  return settlements.filter((s): s is ReleaseSettlement => s.kind === 'release');
}

/** The recycle entries of a decoded settlements list (they come last). */
export function recyclesOf(settlements: readonly Settlement[]): RecycleEntry[] {
  return settlements.filter((s): s is RecycleEntry => s.kind === 'recycle');
}

/**
 * The shape rules of a block's `settlements`, needing no state: every entry
 * decodes, moves a positive amount, releases come before recycle entries,
 * and the releases' seqs run on without a gap or a repeat (so no release is
 * in a block twice) in windows that never go back. Code: bad-settlement.
 */
export function checkSettlements(entries: readonly Uint8Array[]): Result<Settlement[], RejectCode> {
  const out: Settlement[] = [];
  for (let i = 0; i < entries.length; i++) {
    let s: Settlement;
    try {
      s = decodeSettlement(entries[i]!);
    } catch (e) {
      if (e instanceof CodecError) return fail('bad-settlement', `settlement ${i}: ${e.code} ${e.message}`);
      throw e;
    }
    if (s.amount === 0n) return fail('bad-settlement', `settlement ${i}: moves nothing`);
    const prev = out[i - 1];
    if (s.kind === 'release' && prev?.kind === 'recycle') return fail('bad-settlement', `settlement ${i}: a release after a recycle entry`);
    if (s.kind === 'release' && prev?.kind === 'release') {
      if (s.seq !== prev.seq + 1n) return fail('bad-settlement', `settlement ${i}: seq ${s.seq} does not follow ${prev.seq}`);
      if (s.window < prev.window) return fail('bad-settlement', `settlement ${i}: window ${s.window} before ${prev.window}`);
    }
    out.push(s);
  }
  return ok(out);
}

/**
 * The recycle entries' shape in a block at `height` of a sector with these
 * recycling params: none but in an epoch's last block (height a positive
 * multiple of `epochBlocks`), each of that epoch and of a named account, in
 * the named order, no account twice. Code: bad-recycle. Whether each amount is
 * right, and whether one is missing, is the state transition's to say.
 */
export function checkRecycleShape(
  settlements: readonly Settlement[],
  height: number,
  recycle: { accounts: readonly string[]; epochBlocks: number },
): Result<undefined, RejectCode> {
  const entries = recyclesOf(settlements);
  if (entries.length === 0) return ok();
  if (height % recycle.epochBlocks !== 0 || height === 0) return fail('bad-recycle', `block ${height} ends no recycling epoch (every ${recycle.epochBlocks} blocks)`);
  const epoch = BigInt(height / recycle.epochBlocks);
  let last = -1;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.epoch !== epoch) return fail('bad-recycle', `recycle entry ${i}: epoch ${e.epoch}, this block ends epoch ${epoch}`);
    const at = recycle.accounts.indexOf(toHex(e.account));
    if (at < 0) return fail('bad-recycle', `recycle entry ${i}: ${toHex(e.account)} is not a named account`);
    if (at <= last) return fail('bad-recycle', `recycle entry ${i}: accounts out of the named order or repeated`);
    last = at;
  }
  return ok();
}

/** What a validator's own fold knows of one sector's releases. */
export interface ReleaseLookup {
  /** The last window this fold is complete through: every release of windows ≤ it is known. */
  completeThrough: number;
  /** Release `seq` of the sector, if the fold has reached it. */
  release(seq: bigint): Release | undefined;
}

/**
 * Checks a block's settlements (already through `checkSettlements`) against
 * the validator's fold: `ok` when each is exactly the release of its seq,
 * `'pending'` when one names a release of a window past `completeThrough`
 * that the fold does not have yet (the block waits for the fold), and
 * `bad-settlement` for an entry that differs from the fold's release of that
 * seq, or names a release the fold completed without (not owed).
 */
export function matchSettlements(settlements: readonly Settlement[], lookup: ReleaseLookup): Result<'ok' | 'pending', RejectCode> {
  const releases = releasesOf(settlements);
  for (let i = 0; i < releases.length; i++) {
    const s = releases[i]!;
    const r = lookup.release(s.seq);
    if (r === undefined) {
      if (s.window > lookup.completeThrough) return ok('pending');
      return fail('bad-settlement', `settlement ${i}: no release ${s.seq} is owed through window ${lookup.completeThrough}`);
    }
    if (r.window !== s.window || toHex(s.id) !== r.id || !equalBytes(r.to, s.to) || r.amount !== s.amount) {
      return fail('bad-settlement', `settlement ${i}: release ${s.seq} is ${r.id} of window ${r.window}, ${r.amount} to ${toHex(r.to)}`);
    }
  }
  return ok('ok');
}
