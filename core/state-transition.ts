/**
 * The sector account-state transition: pure functions from (state, block) to
 * a `StateDelta`, and the per-transaction rules they are made of.
 *
 * Rules, in the order they are checked for each transaction:
 *   1. context-free validity (`checkTx`); the signature part can be skipped
 *      when `checkBlock` has already verified it;
 *   2. nonce = the sender's next nonce (`tx-bad-nonce`);
 *   3. balance ≥ amount + fee (`tx-insufficient-funds`);
 *   4. no balance above 2^64 − 1 after the credit (`tx-balance-overflow`).
 * A transfer moves `amount` to `to`; a convert moves `amount` to the sector's
 * treasury. Both debit amount + fee and bump the sender's nonce. After the
 * txs, the block's release settlements (core/settlement.ts) are credited out
 * of the sector treasury, each advancing the treasury's nonce, which counts
 * the releases this chain has applied; then the miner gets the fees and the
 * subsidy; last, in an epoch's last block, the mandatory recycling locks.
 *
 * Nothing here mutates its inputs: a block is applied on a `StateOverlay` (the
 * touched accounts on top of a read-only `StateView`) and the result is the
 * list of changes with their values before and after, which the store writes
 * on connect (after) and on disconnect (before). A failing transaction fails
 * the whole block and nothing is returned but the code. Header, proof-of-work
 * and body-shape rules are `checkBlock`'s; the MAIN side of a conversion (the
 * mint through witness records) is not in this module.
 * @module
 */
import type { Block } from './block.js';
import { equalBytes, fromHex, toHex } from './bytes.js';
import { U64_MAX, Writer } from './codec.js';
import { fail, ok, type Result } from './errors.js';
import type { RejectCode } from './reject.js';
import { genesisAllocations } from './genesis.js';
import { TAGS, taggedHash } from './hash.js';
import { ADDRESS_BYTES, type Verifier } from './keys.js';
import { blockSubsidy, type NetworkSpec, type SectorParams } from './params.js';
import { decodeSettlement, recyclesOf, releasesOf, type RecycleEntry, type ReleaseSettlement, type Settlement } from './settlement.js';
import { EMPTY_ACCOUNT, type AccountChange, type AccountState, type StateDelta, type StateView } from './state.js';
import { checkTx, txAmount, txSender, txSpend, type Tx } from './tx.js';

export { EMPTY_ACCOUNT, type AccountChange, type AccountState, type StateDelta, type StateView } from './state.js';

/**
 * The treasury of a sector: the first 20 bytes of
 * H_tag("pouw/treasury", u32le sectorId). Converted sector tokens are locked
 * there. No key can sign for it: spending from an address needs a public key
 * whose SHA-256 starts with these 20 bytes, i.e. a 160-bit preimage attack on
 * SHA-256, and the tag keeps the value apart from every other hash the
 * protocol computes.
 */
export function treasuryAddress(sectorId: number): Uint8Array {
  const id = new Writer(4).u32(sectorId).finish();
  return taggedHash(TAGS.treasury, id).slice(0, ADDRESS_BYTES);
}

/** Touched accounts on top of a read-only view; first write fixes an account's place in the change list. */
export class StateOverlay implements StateView {
  private readonly touched = new Map<string, AccountChange>();

  constructor(readonly base: StateView) {}

  /** Current value (a fresh object): the overlay's if touched, else the base view's. */
  account(address: Uint8Array): AccountState {
    const t = this.touched.get(toHex(address));
    const a = t !== undefined ? t.after : this.base.account(address);
    return { balance: a.balance, nonce: a.nonce };
  }

  /** Records `after` for `address`; the first write remembers the base value as `before`. */
  write(address: Uint8Array, after: AccountState): void {
    const key = toHex(address);
    const t = this.touched.get(key);
    const value = { balance: after.balance, nonce: after.nonce };
    if (t !== undefined) {
      t.after = value;
      return;
    }
    const b = this.base.account(address);
    this.touched.set(key, {
      address: Uint8Array.from(address),
      before: { balance: b.balance, nonce: b.nonce },
      after: value,
    });
  }

  /** Copies of the touched accounts in first-touched order. */
  changes(): AccountChange[] {
    return [...this.touched.values()].map((c) => ({
      address: Uint8Array.from(c.address),
      before: { ...c.before },
      after: { ...c.after },
    }));
  }
}

export interface ApplyContext {
  /** The sector whose chain is being applied (tx `chain` and subsidy schedule). */
  sector: SectorParams;
  networkId: Uint8Array;
  /**
   * Verify each tx's signature (default true). `checkBlock` already verified
   * every signature of a block it passed, so the chain sets this to false
   * after it; the other context-free rules of `checkTx` run either way.
   */
  verifySignatures?: boolean;
  /** Signature check used when verifying; defaults to core's strict verifier. */
  verify?: Verifier;
  /**
   * The earlier blocks of the recycling epoch the block ends (heights
   * h − epochBlocks + 1 … h − 1, in order, on the block's own branch):
   * required for a block where `endsRecycleEpoch`, ignored otherwise.
   */
  epochBlocks?: readonly Block[];
}

const acceptAll: Verifier = () => true;

/** The sender's next nonce: the nonce its next transaction must carry. */
export function nextNonce(view: StateView, address: Uint8Array): bigint {
  return view.account(address).nonce;
}

/** Address credited by a tx: the transfer's `to`, or the treasury of the tx's chain for a convert. */
function creditedAddress(tx: Tx): Uint8Array {
  return tx.payload.kind === 'transfer' ? tx.payload.to : treasuryAddress(tx.chain);
}

/**
 * The state rules of one tx against `view`, without applying it: the new
 * sender and recipient values, or the failure. Self-transfers credit the
 * already-debited sender.
 */
function stateRules(
  view: StateView,
  tx: Tx,
): Result<{ sender: Uint8Array; senderAfter: AccountState; to: Uint8Array; toAfter: AccountState }, RejectCode> {
  const sender = txSender(tx);
  const from = view.account(sender);
  // Each nonce is usable once and in order: lower is a replay, higher leaves a gap.
  if (tx.nonce !== from.nonce) {
    const what = tx.nonce < from.nonce ? 'replay' : 'gap';
    return fail('tx-bad-nonce', `expected nonce ${from.nonce}, got ${tx.nonce} (${what})`);
  }
  // The next nonce must still fit the u64 nonce field.
  if (from.nonce >= U64_MAX) return fail('tx-nonce-exhausted', `nonce ${from.nonce} is the last one`);
  const spend = txSpend(tx);
  // No account goes negative: the sender pays amount and fee from what it holds.
  if (from.balance < spend) return fail('tx-insufficient-funds', `balance ${from.balance} < amount + fee ${spend}`);
  const senderAfter = { balance: from.balance - spend, nonce: from.nonce + 1n };
  const to = creditedAddress(tx);
  const toBefore = equalBytes(to, sender) ? senderAfter : view.account(to);
  const credited = toBefore.balance + txAmount(tx.payload);
  // Balances are u64 on the wire and in storage.
  if (credited > U64_MAX) return fail('tx-balance-overflow', `balance of ${toHex(to)} would be ${credited}`);
  return ok({ sender, senderAfter, to, toAfter: { balance: credited, nonce: toBefore.nonce } });
}

/**
 * Applies one tx to `overlay` and returns its fee (owed to the miner). Atomic:
 * on failure the overlay is unchanged, so a block builder can skip the tx.
 * Codes: checkTx's `tx-*` codes, tx-bad-nonce, tx-nonce-exhausted,
 * tx-insufficient-funds, tx-balance-overflow.
 */
export function applyTx(overlay: StateOverlay, tx: Tx, ctx: ApplyContext): Result<bigint, RejectCode> {
  const verify = ctx.verifySignatures === false ? acceptAll : ctx.verify;
  const c = checkTx(tx, { networkId: ctx.networkId, chain: ctx.sector.id, verify });
  if (!c.ok) return c;
  const r = stateRules(overlay, tx);
  if (!r.ok) return r;
  overlay.write(r.value.sender, r.value.senderAfter);
  overlay.write(r.value.to, r.value.toAfter);
  return ok(tx.fee);
}

/**
 * The nonce and balance rules for one tx on its own against `view` (mempool
 * admission at the tip), with `applyTx`'s state codes: tx-bad-nonce,
 * tx-nonce-exhausted, tx-insufficient-funds, tx-balance-overflow. Context-free
 * validity, signature included, is `checkTx`'s and is not repeated here.
 */
export function checkTxAgainstState(view: StateView, tx: Tx): Result<undefined, RejectCode> {
  const r = stateRules(view, tx);
  return r.ok ? ok() : r;
}

/**
 * Applies a block on `view`: its txs in order (a later tx sees what earlier
 * txs of the same block did), its release settlements out of the treasury,
 * the miner's subsidy at the block's height plus the fees, and last, in an
 * epoch's last block, the mandatory recycling locks, which must be exactly
 * those due (`recyclesDue`). Any failing tx fails the block with its code and
 * `tx <index>:` in the detail. Call after `checkBlock`; height 0 is the
 * genesis block, whose state is `genesisState`.
 * Codes: those of `applyTx`, block-reward-overflow, bad-settlement, bad-recycle.
 */
export function applyBlock(view: StateView, block: Block, ctx: ApplyContext): Result<StateDelta, RejectCode> {
  const before = applyBeforeRecycle(view, block, ctx);
  if (!before.ok) return before;
  const { overlay, settlements, fees, subsidy } = before.value;
  const due = dueRecycles(overlay, block, ctx);
  const got = recyclesOf(settlements);
  const same = due.length === got.length && due.every((d, i) => equalBytes(d.account, got[i]!.account) && d.amount === got[i]!.amount && d.epoch === got[i]!.epoch);
  if (!same) {
    const show = (xs: RecycleEntry[]) => xs.map((x) => `${toHex(x.account)}:${x.amount}`).join(', ') || 'none';
    return fail('bad-recycle', `block ${block.header.height}: recycle entries ${show(got)}, due ${show(due)}`);
  }
  const treasury = treasuryAddress(ctx.sector.id);
  for (const e of due) {
    const a = overlay.account(e.account);
    overlay.write(e.account, { balance: a.balance - e.amount, nonce: a.nonce });
    const t = overlay.account(treasury);
    if (t.balance + e.amount > U64_MAX) return fail('bad-recycle', 'the treasury balance would pass 2^64 − 1');
    overlay.write(treasury, { balance: t.balance + e.amount, nonce: t.nonce });
  }
  return ok({ changes: overlay.changes(), fees, subsidy });
}

/**
 * The recycle entries a block must carry, for a block builder: `block`'s
 * txs, release settlements and reward applied on `view` (any recycle entries
 * it holds are ignored), then what each named account owes. Empty but in an
 * epoch's last block.
 */
export function recyclesDue(view: StateView, block: Block, ctx: ApplyContext): Result<RecycleEntry[], RejectCode> {
  const before = applyBeforeRecycle(view, block, ctx);
  if (!before.ok) return before;
  return ok(dueRecycles(before.value.overlay, block, ctx));
}

/** Does a block at `height` of `sector` end a recycling epoch that can owe anything? */
export function endsRecycleEpoch(sector: SectorParams, height: number): boolean {
  const r = sector.recycle;
  return r.accounts.length > 0 && r.bps > 0 && height > 0 && height % r.epochBlocks === 0;
}

/**
 * Everything a block credits `address`: transfers to it from others, release
 * settlements to it, and the subsidy and fees when it is the block's miner.
 * For a block that applied (its txs are valid); a pure function of the block.
 */
export function blockCredits(block: Block, sector: SectorParams, address: Uint8Array): bigint {
  let credits = 0n;
  let fees = 0n;
  for (const tx of block.body.txs) {
    fees += tx.fee;
    if (tx.payload.kind === 'transfer' && equalBytes(tx.payload.to, address) && !equalBytes(txSender(tx), address)) credits += tx.payload.amount;
  }
  for (const s of block.body.settlements.map(decodeSettlement)) if (s.kind === 'release' && equalBytes(s.to, address)) credits += s.amount;
  if (equalBytes(block.body.miner, address)) credits += blockSubsidy(sector, block.header.height) + fees;
  return credits;
}

/** ⌈income · bps / 10,000⌉ of what `account` was credited in an epoch's `blocks`: what it owes before the balance cap. */
export function recycleOwed(blocks: readonly Block[], sector: SectorParams, account: Uint8Array): bigint {
  const income = blocks.reduce((sum, b) => sum + blockCredits(b, sector, account), 0n);
  return (income * BigInt(sector.recycle.bps) + 9_999n) / 10_000n;
}

/** Txs, release settlements and the reward of `block` on a fresh overlay of `view`. */
function applyBeforeRecycle(
  view: StateView,
  block: Block,
  ctx: ApplyContext,
): Result<{ overlay: StateOverlay; settlements: Settlement[]; fees: bigint; subsidy: bigint }, RejectCode> {
  const height = block.header.height;
  if (height < 1) throw new RangeError('applyBlock takes blocks above genesis; use genesisState for height 0');
  const overlay = new StateOverlay(view);
  let fees = 0n;
  const txs = block.body.txs;
  for (let i = 0; i < txs.length; i++) {
    const r = applyTx(overlay, txs[i]!, ctx);
    if (!r.ok) return fail(r.code, `tx ${i}: ${r.detail}`);
    fees += r.value;
  }
  const settlements = block.body.settlements.map(decodeSettlement);
  const settled = applyReleases(overlay, releasesOf(settlements), ctx.sector.id);
  if (!settled.ok) return settled;
  const subsidy = blockSubsidy(ctx.sector, height);
  const reward = subsidy + fees;
  // A zero reward (no fees after the last halving) touches no account.
  if (reward > 0n) {
    const miner = overlay.account(block.body.miner);
    const balance = miner.balance + reward;
    // The miner's balance is a u64 like every other.
    if (balance > U64_MAX) return fail('block-reward-overflow', `miner balance would be ${balance}`);
    overlay.write(block.body.miner, { balance, nonce: miner.nonce });
  }
  return ok({ overlay, settlements, fees, subsidy });
}

/**
 * What each named account owes at the end of an epoch: ⌈income · bps /
 * 10,000⌉ of the credits it received in the epoch's blocks (`ctx.epochBlocks`
 * and this one), capped by its balance after the rest of this block; in the
 * named order, accounts owing nothing left out.
 */
function dueRecycles(overlay: StateOverlay, block: Block, ctx: ApplyContext): RecycleEntry[] {
  const { sector } = ctx;
  const height = block.header.height;
  if (!endsRecycleEpoch(sector, height)) return [];
  const r = sector.recycle;
  const earlier = ctx.epochBlocks;
  if (earlier === undefined || earlier.length !== r.epochBlocks - 1 || earlier.some((b, i) => b.header.height !== height - r.epochBlocks + 1 + i)) {
    throw new RangeError(`block ${height} ends a recycling epoch: applyBlock needs the epoch's ${r.epochBlocks - 1} earlier blocks in ctx.epochBlocks`);
  }
  const blocks = [...earlier, block];
  const out: RecycleEntry[] = [];
  for (const hex of r.accounts) {
    const account = fromHex(hex);
    const owed = recycleOwed(blocks, sector, account);
    const balance = overlay.account(account).balance;
    const amount = owed < balance ? owed : balance;
    if (amount > 0n) out.push({ kind: 'recycle', epoch: BigInt(height / r.epochBlocks), account, amount });
  }
  return out;
}

/**
 * Credits a block's release settlements (shape already checked by
 * `checkBlockBody`) out of the sector treasury: the first must carry the
 * treasury's nonce (the count of releases this branch applied: a lower seq is
 * a release applied before, a higher one skips some), the treasury must hold
 * each amount, and no balance may pass 2^64 − 1. Each moves the treasury's
 * nonce on by one. Code: bad-settlement.
 */
function applyReleases(overlay: StateOverlay, releases: readonly ReleaseSettlement[], sectorId: number): Result<undefined, RejectCode> {
  if (releases.length === 0) return ok();
  const treasury = treasuryAddress(sectorId);
  for (let i = 0; i < releases.length; i++) {
    const s = releases[i]!;
    const t = overlay.account(treasury);
    if (s.seq !== t.nonce) {
      const what = s.seq < t.nonce ? 'applied already' : 'skips releases';
      return fail('bad-settlement', `settlement ${i}: release ${s.seq} ${what}; the next to apply is ${t.nonce}`);
    }
    if (t.balance < s.amount) return fail('bad-settlement', `settlement ${i}: the treasury holds ${t.balance} < ${s.amount}`);
    overlay.write(treasury, { balance: t.balance - s.amount, nonce: t.nonce + 1n });
    const to = overlay.account(s.to);
    if (to.balance + s.amount > U64_MAX) return fail('bad-settlement', `settlement ${i}: balance of ${toHex(s.to)} would pass 2^64 − 1`);
    overlay.write(s.to, { balance: to.balance + s.amount, nonce: to.nonce });
  }
  return ok();
}

/**
 * The genesis state of a sector as a delta on empty state: the spec's
 * allocations for this sector, in spec order, with repeated addresses summed.
 * The genesis block pays no subsidy. A total above 2^64 − 1 is a spec error
 * (RangeError).
 */
export function genesisState(spec: NetworkSpec, sector: SectorParams): StateDelta {
  const empty: StateView = { account: () => EMPTY_ACCOUNT };
  const overlay = new StateOverlay(empty);
  for (const a of genesisAllocations(spec, sector)) {
    const balance = overlay.account(a.address).balance + a.amount;
    if (balance > U64_MAX) throw new RangeError(`genesis allocation to ${toHex(a.address)} exceeds u64`);
    overlay.write(a.address, { balance, nonce: 0n });
  }
  return { changes: overlay.changes(), fees: 0n, subsidy: 0n };
}

/** The writes that undo `delta` (after → before), in reverse order. */
export function undoDelta(delta: StateDelta): AccountChange[] {
  return delta.changes
    .map((c) => ({ address: Uint8Array.from(c.address), before: { ...c.after }, after: { ...c.before } }))
    .reverse();
}

/** A `StateView` over a map from hex address to account; absent accounts are empty. */
export function mapStateView(map: ReadonlyMap<string, AccountState>): StateView {
  return { account: (address) => map.get(toHex(address)) ?? EMPTY_ACCOUNT };
}

/**
 * Writes `delta` into `map` (hex address → account): the `after` values to
 * connect, the `before` values to disconnect. Each account must hold the value
 * the delta moves it from, else RangeError and the map is left unchanged (a
 * delta out of order). Empty accounts are deleted, so a connect followed by a
 * disconnect restores the map exactly. Mutates and returns `map`; for stores
 * and tests, not consensus.
 */
export function applyDeltaToMap(
  map: Map<string, AccountState>,
  delta: StateDelta,
  direction: 'connect' | 'disconnect',
): Map<string, AccountState> {
  const writes = direction === 'connect' ? delta.changes : undoDelta(delta);
  for (const c of writes) {
    const cur = map.get(toHex(c.address)) ?? EMPTY_ACCOUNT;
    if (cur.balance !== c.before.balance || cur.nonce !== c.before.nonce) {
      throw new RangeError(`${direction}: account ${toHex(c.address)} does not hold the value the delta starts from`);
    }
  }
  for (const c of writes) {
    const key = toHex(c.address);
    if (c.after.balance === 0n && c.after.nonce === 0n) map.delete(key);
    else map.set(key, { balance: c.after.balance, nonce: c.after.nonce });
  }
  return map;
}

/** The txs a disconnected block gives back to the mempool: all of them, in block order. */
export function txsForMempoolReturn(block: Block): Tx[] {
  return block.body.txs.slice();
}
