/**
 * What a peer pays for data this node refuses, decided by the class of the
 * refusal (core/reject.ts), never by a list of codes: a code core adds gets
 * a class there or does not compile, and the class alone sets the points.
 * node/ adds its own codes here with their classes: the mempool's policy
 * refusals, and a block it already judged invalid.
 *
 * Blocks: what breaks a consensus rule (malformed or invalid against its
 * parent or state) bans at once — every honest node refuses it before
 * relaying; what may become valid (an unknown parent, a time ahead of our
 * clock) costs nothing. Transactions: a malformed one costs 50 points; one
 * refused against our state costs nothing, since the sender's state may
 * differ from ours (a nonce already used here, a balance already spent).
 * docs/protocol.md §18 has the table.
 * @module
 */
import { rejectClass, type RejectClass, type RejectCode } from '../core/reject.js';
import { BAN_SCORE } from './p2p.js';

/** core's classes, plus a block this node already found invalid: the rule it broke was charged when first judged. */
export type NodeRejectClass = RejectClass | 'known-invalid';

/** node/'s own refusal codes, with their classes. */
export const NODE_REJECT_CODES = {
  'block-known-invalid': 'known-invalid',
  // A headers message whose headers do not each follow the one before: no honest node sends one.
  'headers-not-continuous': 'malformed',
  'mempool-duplicate': 'policy',
  'mempool-full': 'policy',
  'mempool-insufficient-funds': 'policy',
  'mempool-nonce-too-low': 'policy',
  'mempool-replacement-underpriced': 'policy',
  'mempool-nonce-gap': 'not-yet-connectable',
} as const satisfies Record<string, NodeRejectClass>;

export type NodeRejectCode = keyof typeof NODE_REJECT_CODES;
/** What `Chain.accept` can refuse a block with. */
export type BlockRejectCode = RejectCode | 'block-known-invalid' | 'headers-not-continuous';
/** What `Mempool.add` can refuse a tx with. */
export type TxRejectCode = RejectCode | Exclude<NodeRejectCode, 'block-known-invalid' | 'headers-not-continuous'>;

/** Points a peer pays for a block, by class. */
export const BLOCK_POINTS: Readonly<Record<NodeRejectClass, number>> = {
  malformed: BAN_SCORE,
  'invalid-consensus': BAN_SCORE,
  'not-yet-connectable': 0,
  policy: 0,
  // Rejecting it again costs one lookup; repeating it five times still bans.
  'known-invalid': 20,
};

/** Points a peer pays for a gossiped tx, by class. */
export const TX_POINTS: Readonly<Record<NodeRejectClass, number>> = {
  malformed: 50,
  'invalid-consensus': 0,
  'not-yet-connectable': 0,
  policy: 0,
  'known-invalid': 0,
};

export function classOf(code: RejectCode | NodeRejectCode): NodeRejectClass {
  return code in NODE_REJECT_CODES ? NODE_REJECT_CODES[code as NodeRejectCode] : rejectClass(code as RejectCode);
}

export function blockRejectPoints(code: BlockRejectCode): number {
  return BLOCK_POINTS[classOf(code)];
}

export function txRejectPoints(code: TxRejectCode): number {
  return TX_POINTS[classOf(code)];
}
