/**
 * Why a block or a transaction is refused, as a class, for every code core
 * can refuse one with. Peers are scored by class (node/penalties.ts), never
 * by a list of codes, so a new code cannot ban honest peers by being missing
 * from a table: it does not compile until it has a class here, and the
 * checks of core return `Result<T, RejectCode>`.
 *
 * The classes:
 * - `malformed`: breaks a rule the object alone decides — encoding, limits,
 *   proof of work, signatures, sections. It can never be valid, anywhere,
 *   so no honest node produces or relays it.
 * - `invalid-consensus`: breaks a consensus rule against its context — its
 *   parent, the chain's state, the task registry. Every honest node on the
 *   same chain refuses it; for a lone tx the sender's state may differ from
 *   ours, for a block it may not.
 * - `not-yet-connectable`: cannot be judged yet and may become valid — its
 *   parent is unknown, its time is ahead of our clock.
 * - `policy`: refused by a node's own policy (mempool limits, replacement
 *   rules); others may accept it. Core has no policy codes; node/ has.
 *
 * Pure data; docs/protocol.md §13 lists the same table.
 * @module
 */
import { CODEC_ERRORS, type CodecErrorCode } from './errors.js';

export const REJECT_CLASSES = ['malformed', 'invalid-consensus', 'not-yet-connectable', 'policy'] as const;
export type RejectClass = (typeof REJECT_CLASSES)[number];

const CODEC_CLASSES = Object.fromEntries(CODEC_ERRORS.map((c) => [c, 'malformed'])) as Record<CodecErrorCode, 'malformed'>;

/** Every block and tx refusal code of core, with its class. */
export const REJECT_CODES = {
  ...CODEC_CLASSES,
  // Headers and proof of work (core/validate.ts, core/target.ts).
  'bad-version': 'malformed',
  'bad-sector': 'malformed',
  'bad-work-kind': 'malformed',
  'bad-work-proof': 'malformed',
  'bad-bits': 'malformed',
  'bits-negative': 'malformed',
  'bits-overflow': 'malformed',
  'bits-zero': 'malformed',
  'high-hash': 'malformed',
  'bad-prevblk': 'invalid-consensus',
  'bad-height': 'invalid-consensus',
  'bad-diffbits': 'invalid-consensus',
  'time-too-old': 'invalid-consensus',
  'time-too-new': 'not-yet-connectable',
  'unknown-parent': 'not-yet-connectable',
  // Bodies (core/validate.ts, core/record.ts).
  'block-too-large': 'malformed',
  'section-not-active': 'malformed',
  'bad-body-root': 'malformed',
  'bad-txns-duplicate': 'malformed',
  'bad-main-record': 'malformed',
  'bad-main-record-duplicate': 'malformed',
  'main-record-too-early': 'malformed',
  'main-record-too-late': 'malformed',
  'bad-witness-record': 'malformed',
  'bad-witness-record-duplicate': 'malformed',
  'witness-record-too-early': 'malformed',
  'witness-record-too-late': 'malformed',
  // No task can back a matmul block yet; once tasks exist, one whose task we lack waits instead.
  'matmul-without-task': 'invalid-consensus',
  // The matmul work proof (core/lottery.ts): checked from the block and its task's commitments.
  'lottery-bad-dims': 'malformed',
  'lottery-bad-opening': 'malformed',
  'lottery-bad-entry': 'malformed',
  'lottery-high-ticket': 'malformed',
  // Transactions alone (core/tx.ts).
  'tx-bad-version': 'malformed',
  'tx-wrong-chain': 'malformed',
  'tx-zero-amount': 'malformed',
  'tx-spend-overflow': 'malformed',
  'tx-convert-on-main': 'malformed',
  'tx-task-off-main': 'malformed',
  'tx-bad-signature': 'malformed',
  // Transactions against the state (core/state-transition.ts).
  'tx-bad-nonce': 'invalid-consensus',
  'tx-nonce-exhausted': 'invalid-consensus',
  'tx-insufficient-funds': 'invalid-consensus',
  'tx-balance-overflow': 'invalid-consensus',
  'block-reward-overflow': 'invalid-consensus',
  // Settlements (core/settlement.ts): against the block's own shape, the treasury's state, or the validator's MAIN fold.
  'bad-settlement': 'invalid-consensus',
  // Locks that cannot be conversions (core/lock.ts): whatever carries one (a witness request, window data) is refused or ignored.
  'lock-unknown-sector': 'malformed',
  'lock-not-convert': 'malformed',
  'lock-not-named': 'malformed',
  'lock-empty': 'malformed',
  // Mandatory recycling (core/state-transition.ts): the epoch's last block carries exactly what is due.
  'bad-recycle': 'invalid-consensus',
} as const satisfies Record<string, RejectClass>;

export type RejectCode = keyof typeof REJECT_CODES;

/** The class of a refusal code of core. */
export function rejectClass(code: RejectCode): RejectClass {
  return REJECT_CODES[code];
}
