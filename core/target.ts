/**
 * Proof-of-work targets: Bitcoin's compact "nBits" form, work and the PoW check.
 *
 * A target is an unsigned 256-bit integer; a header carries it as 32-bit
 * compact bits (one size byte, a sign bit, a 23-bit mantissa). The rules here
 * are Bitcoin Core's, bit for bit: `decodeCompact` is `SetCompact` with its
 * negative and overflow flags, `targetToBits` is `GetCompact` (it rounds the
 * target down to 23 significant bits and never sets the sign bit),
 * `workForTarget` is `GetBlockProof`, and `checkProofOfWork` is
 * `CheckProofOfWork`. A SHA-256d hash is read as a little-endian integer, as
 * Bitcoin reads it.
 *
 * Everything is bigint and integer arithmetic; nothing here knows about
 * headers, heights or time (difficulty lives in asert.ts).
 * @module
 */
import { assertBytes, bytesToBigIntLE } from './bytes.js';
import { fail, ok, type Result } from './errors.js';
import type { RejectCode } from './reject.js';

/** 2^256: one above the largest target. */
export const TWO_256 = 1n << 256n;
/** The largest 256-bit value. */
export const MAX_UINT256 = TWO_256 - 1n;

/** Rejection codes of this module. Stable: they appear in logs and peers' ban reasons. */
export const TARGET_ERRORS = [
  'bits-negative', // the sign bit is set on a non-zero mantissa
  'bits-overflow', // the encoded value does not fit in 256 bits
  'bits-zero', // the encoded target is zero (no hash could meet it)
  'bad-bits', // bits do not decode to a target in [1, powLimit]
  'high-hash', // the hash is above the target
] as const;
export type TargetErrorCode = (typeof TARGET_ERRORS)[number];

/** What `SetCompact` computes: the value and its two flags. */
export interface DecodedCompact {
  /** The decoded value; meaningless (taken mod 2^256) when `overflow`. */
  target: bigint;
  negative: boolean;
  overflow: boolean;
}

function checkBits(bits: number): void {
  if (typeof bits !== 'number' || !Number.isInteger(bits)) throw new TypeError('bits must be an integer');
  if (bits < 0 || bits > 0xffffffff) throw new RangeError(`bits out of u32 range: ${bits}`);
}

function checkTarget(target: bigint, what = 'target'): void {
  if (typeof target !== 'bigint') throw new TypeError(`${what} must be a bigint`);
  if (target < 0n || target > MAX_UINT256) throw new RangeError(`${what} outside [0, 2^256)`);
}

/**
 * Bitcoin Core's `arith_uint256::SetCompact`, flags included.
 *
 * size = bits >>> 24, word = bits & 0x007fffff;
 * size ≤ 3: value = word >> 8·(3 − size) (and `word` is that shifted value);
 * size > 3: value = (word << 8·(size − 3)) mod 2^256.
 * negative = word ≠ 0 and bit 0x00800000 set;
 * overflow = word ≠ 0 and (size > 34 or (word > 0xff and size > 33) or (word > 0xffff and size > 32)).
 */
export function decodeCompact(bits: number): DecodedCompact {
  checkBits(bits);
  const size = bits >>> 24;
  let word = bits & 0x007fffff;
  let target: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = (BigInt(word) << BigInt(8 * (size - 3))) & MAX_UINT256;
  }
  const negative = word !== 0 && (bits & 0x00800000) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  return { target, negative, overflow };
}

/**
 * The target encoded by `bits`, or why it is not one: `bits-negative`, then
 * `bits-overflow`, then `bits-zero` (checked in that order; Bitcoin Core
 * rejects the same set of bits, without naming which flag).
 */
export function bitsToTarget(bits: number): Result<bigint, RejectCode> {
  const d = decodeCompact(bits);
  if (d.negative) return fail('bits-negative', `bits 0x${hex32(bits)} have the sign bit set`);
  if (d.overflow) return fail('bits-overflow', `bits 0x${hex32(bits)} encode a value above 2^256`);
  if (d.target === 0n) return fail('bits-zero', `bits 0x${hex32(bits)} encode a zero target`);
  return ok(d.target);
}

/**
 * Bitcoin Core's `arith_uint256::GetCompact(false)`: the compact bits of
 * `target`, keeping its top 3 bytes and dropping the rest (rounding down).
 * When the top mantissa byte would have bit 0x80 set (the sign bit), the
 * mantissa is shifted down one byte and the size raised by one, so the
 * result never has the sign bit. `targetToBits(0n)` is 0.
 */
export function targetToBits(target: bigint): number {
  checkTarget(target);
  let size = byteLength(target);
  let compact: number;
  if (size <= 3) {
    compact = Number(target << BigInt(8 * (3 - size)));
  } else {
    compact = Number(target >> BigInt(8 * (size - 3)));
  }
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return ((size << 24) | compact) >>> 0;
}

/**
 * Expected hashes to find a block at `target`: floor(2^256 / (target + 1)),
 * Bitcoin Core's `GetBlockProof`. Fork choice sums it over a chain.
 */
export function workForTarget(target: bigint): bigint {
  checkTarget(target);
  return TWO_256 / (target + 1n);
}

/**
 * Work of one block with `bits` already accepted (a header that passed its
 * checks, a tip): bits that do not decode there are a programmer error.
 */
export function workOfAcceptedBits(bits: number): bigint {
  const t = bitsToTarget(bits);
  if (!t.ok) throw new RangeError(`bits 0x${bits.toString(16)} of an accepted header do not decode`);
  return workForTarget(t.value);
}

/**
 * Cumulative work of a chain after a block with `bits`: the parent's
 * cumulative work plus the block's work. Fork choice prefers the larger sum;
 * invalid bits are a consensus failure, not a zero contribution.
 */
export function cumulativeWork(parentWork: bigint, bits: number): Result<bigint, RejectCode> {
  if (parentWork < 0n) throw new RangeError('cumulative work is never negative');
  const t = bitsToTarget(bits);
  return t.ok ? ok(parentWork + workForTarget(t.value)) : t;
}

/** Whether a 32-byte SHA-256d hash, read little-endian, is ≤ `target`. */
export function hashMeetsTarget(hash: Uint8Array, target: bigint): boolean {
  assertBytes(hash, 32, 'hash');
  checkTarget(target);
  return bytesToBigIntLE(hash) <= target;
}

/**
 * Bitcoin Core's `CheckProofOfWork`: `bits` must decode to a target in
 * [1, powLimit] (`bad-bits`, so nobody claims an easier target than the
 * network allows), and the hash must be ≤ that target (`high-hash`, so the
 * claimed work was done).
 */
export function checkProofOfWork(hash: Uint8Array, bits: number, powLimit: bigint): Result<undefined, RejectCode> {
  assertBytes(hash, 32, 'hash');
  checkTarget(powLimit, 'powLimit');
  const t = bitsToTarget(bits);
  if (!t.ok) return fail('bad-bits', t.detail);
  if (t.value > powLimit) return fail('bad-bits', `bits 0x${hex32(bits)} encode a target above powLimit`);
  if (bytesToBigIntLE(hash) > t.value) return fail('high-hash', `hash above the target of bits 0x${hex32(bits)}`);
  return ok();
}

function byteLength(x: bigint): number {
  return x === 0n ? 0 : (x.toString(16).length + 1) >> 1;
}

function hex32(bits: number): string {
  return bits.toString(16).padStart(8, '0');
}
