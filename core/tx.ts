/**
 * Transaction envelope, kinds, ids and signatures.
 *
 * One envelope for every chain: `chain` is the sector id a transaction
 * executes on, or 0 for MAIN. The sender is an ed25519 public key (its
 * address is derived), `nonce` is the sender's per-chain sequence number and
 * `fee` is paid in the chain's own token.
 *
 *   txid      = H_tag("pouw/txid", unsigned encoding)
 *   signature = ed25519(H_tag("pouw/tx-sig", networkId ‖ txid))
 *
 * The id excludes the signature, so it cannot be changed by re-signing; the
 * network id in the signed message stops replays across networks, and the
 * `chain` field inside the id stops replays across sectors.
 *
 * Kinds here: transfer (1), convert (2) and task (3, MAIN only: it pays a
 * compute task's escrow, core/task.ts). Codes 4–15 are reserved for the kinds
 * that arrive with feedback and governance; decoding any kind not listed is
 * `codec-bad-enum`. This module holds no state rules: balances and
 * nonces are checked against account state by the chain.
 * @module
 */
import { assertBytes } from './bytes.js';
import { decodeExact, encodeWith, U64_MAX, type Reader, type Writer } from './codec.js';
import { CodecError, fail, ok, type Result } from './errors.js';
import type { RejectCode } from './reject.js';
import { TAGS, taggedHash } from './hash.js';
import { ADDRESS_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, addressOf, sign, verify as strictVerify, type Verifier } from './keys.js';

export const TX_VERSION = 1;
/** Chain id of MAIN in the `chain` field. */
export const MAIN_CHAIN = 0;

export const TX_KINDS = { transfer: 1, convert: 2, task: 3, commit: 4, reveal: 5 } as const;

/** What a task asks for, as its tx names it (core/task.ts gives the rules). */
export const TASK_WORKS = ['gemm-i8', 'mlp-f32', 'data'] as const;
export type TaskWork = (typeof TASK_WORKS)[number];
export type TxKind = keyof typeof TX_KINDS;

export type TxPayload =
  | { kind: 'transfer'; to: Uint8Array; amount: bigint }
  | {
      kind: 'convert';
      /** Sector tokens locked to the sector treasury. */
      amount: bigint;
      /** Least MAIN the sender accepts at the batch price (slippage bound). */
      minMain: bigint;
      /** MAIN address credited with the minted MAIN. */
      mainTo: Uint8Array;
    }
  | {
      kind: 'task';
      /** The sector whose miners run it. */
      sector: number;
      work: TaskWork;
      /** Shape: A is m×k and B is k×n (gemm-i8); the other kinds read them in core/task.ts. */
      m: number;
      k: number;
      n: number;
      /** Commitments to the inputs (gemm-i8: the lottery's row root of A and column root of B). */
      commitA: Uint8Array;
      commitB: Uint8Array;
      /** Executors whose agreeing results the task needs. */
      redundancy: number;
      /** MAIN paid into the task's escrow: the most the task can cost. */
      amount: bigint;
      /** Last MAIN window in which the task can be worked on. */
      deadline: bigint;
    }
  | {
      /** An executor's sealed result (core/task.ts `resultCommit`): what it will reveal, bound to its address and a salt. */
      kind: 'commit';
      /** The task tx's id. */
      task: Uint8Array;
      commit: Uint8Array;
      /** Sector address paid the executor's share (a sector tx's miner address, say). */
      payTo: Uint8Array;
    }
  | {
      /** The opening of the sender's commit: the result's blob hash and the salt. */
      kind: 'reveal';
      task: Uint8Array;
      salt: Uint8Array;
      result: Uint8Array;
    };

/** The kinds that move an amount (all but a result's commit and reveal). */
export type AmountPayload = Extract<TxPayload, { amount: bigint }>;

export interface UnsignedTx {
  version: number;
  chain: number;
  from: Uint8Array;
  nonce: bigint;
  fee: bigint;
  payload: TxPayload;
}

export interface Tx extends UnsignedTx {
  signature: Uint8Array;
}

/** Encoded size of each kind is fixed; this is the largest. */
export const MAX_TX_BYTES = 1 + 1 + 4 + PUBLIC_KEY_BYTES + 8 + 8 + (4 + 1 + 12 + 64 + 1 + 8 + 8) + SIGNATURE_BYTES;

function writeUnsigned(w: Writer, tx: UnsignedTx): void {
  const code = TX_KINDS[tx.payload.kind];
  if (code === undefined) throw new RangeError(`unknown tx kind ${(tx.payload as { kind: string }).kind}`);
  w.u8(tx.version).u8(code).u32(tx.chain).fixed(tx.from, PUBLIC_KEY_BYTES).u64(tx.nonce).u64(tx.fee);
  const p = tx.payload;
  switch (p.kind) {
    case 'transfer':
      w.fixed(p.to, ADDRESS_BYTES).u64(p.amount);
      break;
    case 'convert':
      w.u64(p.amount).u64(p.minMain).fixed(p.mainTo, ADDRESS_BYTES);
      break;
    case 'task':
      w.u32(p.sector).u8(TASK_WORKS.indexOf(p.work)).u32(p.m).u32(p.k).u32(p.n).fixed(p.commitA, 32).fixed(p.commitB, 32);
      w.u8(p.redundancy).u64(p.amount).u64(p.deadline);
      break;
    case 'commit':
      w.fixed(p.task, 32).fixed(p.commit, 32).fixed(p.payTo, ADDRESS_BYTES);
      break;
    case 'reveal':
      w.fixed(p.task, 32).fixed(p.salt, 32).fixed(p.result, 32);
      break;
  }
}

function readUnsigned(r: Reader): UnsignedTx {
  const version = r.u8('tx version');
  if (version !== TX_VERSION) throw new CodecError('codec-bad-enum', `unknown tx version ${version}`);
  const code = r.u8('tx kind');
  const chain = r.u32('tx chain');
  const from = r.fixed(PUBLIC_KEY_BYTES, 'tx from');
  const nonce = r.u64('tx nonce');
  const fee = r.u64('tx fee');
  let payload: TxPayload;
  switch (code) {
    case TX_KINDS.transfer:
      payload = { kind: 'transfer', to: r.fixed(ADDRESS_BYTES, 'transfer to'), amount: r.u64('transfer amount') };
      break;
    case TX_KINDS.convert:
      payload = {
        kind: 'convert',
        amount: r.u64('convert amount'),
        minMain: r.u64('convert minMain'),
        mainTo: r.fixed(ADDRESS_BYTES, 'convert mainTo'),
      };
      break;
    case TX_KINDS.task: {
      const sector = r.u32('task sector');
      const workCode = r.u8('task work');
      const work = TASK_WORKS[workCode];
      if (work === undefined) throw new CodecError('codec-bad-enum', `unknown task work ${workCode}`);
      payload = {
        kind: 'task',
        sector,
        work,
        m: r.u32('task m'),
        k: r.u32('task k'),
        n: r.u32('task n'),
        commitA: r.fixed(32, 'task commitA'),
        commitB: r.fixed(32, 'task commitB'),
        redundancy: r.u8('task redundancy'),
        amount: r.u64('task escrow'),
        deadline: r.u64('task deadline'),
      };
      break;
    }
    case TX_KINDS.commit:
      payload = { kind: 'commit', task: r.fixed(32, 'commit task'), commit: r.fixed(32, 'commit hash'), payTo: r.fixed(ADDRESS_BYTES, 'commit payTo') };
      break;
    case TX_KINDS.reveal:
      payload = { kind: 'reveal', task: r.fixed(32, 'reveal task'), salt: r.fixed(32, 'reveal salt'), result: r.fixed(32, 'reveal result') };
      break;
    default:
      throw new CodecError('codec-bad-enum', `unknown tx kind ${code}`);
  }
  return { version, chain, from, nonce, fee, payload };
}

export function writeTx(w: Writer, tx: Tx): void {
  writeUnsigned(w, tx);
  w.fixed(tx.signature, SIGNATURE_BYTES);
}

export function readTx(r: Reader): Tx {
  const u = readUnsigned(r);
  return { ...u, signature: r.fixed(SIGNATURE_BYTES, 'tx signature') };
}

export function encodeUnsignedTx(tx: UnsignedTx): Uint8Array {
  return encodeWith((w) => writeUnsigned(w, tx), MAX_TX_BYTES);
}

export function encodeTx(tx: Tx): Uint8Array {
  return encodeWith((w) => writeTx(w, tx), MAX_TX_BYTES);
}

export function decodeTx(bytes: Uint8Array): Tx {
  return decodeExact(bytes, readTx, 'tx');
}

export function txId(tx: UnsignedTx): Uint8Array {
  return taggedHash(TAGS.txId, encodeUnsignedTx(tx));
}

/** The 32 bytes a sender signs. */
export function txSigningMessage(networkId: Uint8Array, id: Uint8Array): Uint8Array {
  assertBytes(networkId, 32, 'networkId');
  return taggedHash(TAGS.txSig, networkId, id);
}

export function signTx(tx: UnsignedTx, secretKey: Uint8Array, networkId: Uint8Array): Tx {
  return { ...tx, signature: sign(txSigningMessage(networkId, txId(tx)), secretKey) };
}

/** Sender address of a transaction. */
export function txSender(tx: UnsignedTx): Uint8Array {
  return addressOf(tx.from);
}

/** Amount leaving the sender: payload amount plus fee. */
/** What a tx moves: its amount (none for a commit or reveal). */
export function txAmount(p: TxPayload): bigint {
  return 'amount' in p ? p.amount : 0n;
}

export function txSpend(tx: UnsignedTx): bigint {
  return txAmount(tx.payload) + tx.fee;
}

export interface TxContext {
  networkId: Uint8Array;
  /** The chain this transaction must belong to (sector id, or 0 for MAIN). */
  chain: number;
  /** Signature check; defaults to core's strict noble verifier. */
  verify?: Verifier;
}

/**
 * Context-free validity except the signature: everything cheap that does not
 * need account state. Codes: tx-bad-version, tx-wrong-chain, tx-zero-amount,
 * tx-spend-overflow, tx-convert-on-main, tx-task-off-main.
 */
export function checkTxShape(tx: Tx, ctx: Pick<TxContext, 'chain'>): Result<Uint8Array, RejectCode> {
  // Only version 1 exists; a node must not relay what it cannot interpret.
  if (tx.version !== TX_VERSION) return fail('tx-bad-version', `version ${tx.version}`);
  // Replays across sectors: a tx executes only on the chain it names.
  if (tx.chain !== ctx.chain) return fail('tx-wrong-chain', `tx for chain ${tx.chain}, expected ${ctx.chain}`);
  // Zero-value transfers only bump nonces and bloat blocks (a commit or reveal moves nothing by design).
  if ('amount' in tx.payload && tx.payload.amount === 0n) return fail('tx-zero-amount', 'amount must be positive');
  // Amount + fee must be representable, or balance checks could wrap.
  if (txSpend(tx) > U64_MAX) return fail('tx-spend-overflow', 'amount + fee exceeds u64');
  // Conversions lock sector tokens; MAIN cannot be converted into itself.
  if (tx.payload.kind === 'convert' && tx.chain === 0) return fail('tx-convert-on-main', 'convert is a sector tx');
  // A task's escrow is MAIN: the MAIN ledger holds it and pays it out.
  if (tx.payload.kind === 'task' && tx.chain !== 0) return fail('tx-task-off-main', 'task is a MAIN tx');
  // A task's results are folded with its escrow.
  if ((tx.payload.kind === 'commit' || tx.payload.kind === 'reveal') && tx.chain !== 0) return fail('tx-task-off-main', `${tx.payload.kind} is a MAIN tx`);
  return ok(txId(tx));
}

/** The signature of the tx whose id is `id`. Code: tx-bad-signature. */
export function checkTxSignature(tx: Tx, id: Uint8Array, ctx: Pick<TxContext, 'networkId' | 'verify'>): Result<Uint8Array, RejectCode> {
  const verifier = ctx.verify ?? strictVerify;
  // Only the key holder may spend.
  if (!verifier(tx.signature, txSigningMessage(ctx.networkId, id), tx.from)) {
    return fail('tx-bad-signature', 'signature does not verify');
  }
  return ok(id);
}

/**
 * Context-free validity: everything that does not need account state, the
 * signature last (it is the expensive part). Codes: those of `checkTxShape`,
 * then tx-bad-signature.
 */
export function checkTx(tx: Tx, ctx: TxContext): Result<Uint8Array, RejectCode> {
  const shape = checkTxShape(tx, ctx);
  return shape.ok ? checkTxSignature(tx, shape.value, ctx) : shape;
}
