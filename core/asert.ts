/**
 * Difficulty: aserti3-2d ("ASERT"), exactly as in the Bitcoin Cash
 * specification "2020-11-15-asert" and its reference implementation.
 *
 * The target is scheduled absolutely from one anchor block:
 *
 *   next_target ≈ anchor_target · 2^((t_eval − t_ref − spacing·(h_eval − h_ref + 1)) / halfLife)
 *
 * computed with integers only: a 16.16 fixed-point exponent (truncating
 * division), an arithmetic shift for its integer part, the spec's cubic
 * approximation of 2^x on [0, 1), exact bigint shifts (the spec's
 * unlimited-width semantics, so nothing can overflow), then a clamp to
 * [1, powLimit] and the compact encoding of target.ts (which rounds down).
 *
 * Terms, as in the spec:
 * - anchor block: the block whose height `anchorHeight` (h_ref) and bits
 *   `anchorBits` (b_ref) are the reference. `anchorParentTime` (t_ref) is the
 *   timestamp of the anchor block's PARENT, not of the anchor itself.
 * - evaluation block: the parent of the block whose bits are being computed,
 *   i.e. the current tip when mining on it. `height` (h_eval) and `time`
 *   (t_eval) are its height and timestamp; h_eval ≥ h_ref.
 * - the result is b_next, the bits required of the evaluation block's child.
 *
 * Times, `targetSpacing` and `halfLife` share one unit chosen by the caller
 * (the spec uses seconds; a chain may use milliseconds throughout). This module
 * does not pick the anchor, enforce median-time-past or future-time limits, or
 * read headers: callers pass plain integers.
 * @module
 */
import { bitsToTarget, MAX_UINT256, targetToBits } from './target.js';

/** Fixed-point fraction bits of the exponent (radix 65536). */
export const ASERT_RADIX_BITS = 16n;

/** Inputs of one ASERT evaluation. Integers may be safe-integer numbers or bigints. */
export interface AsertInput {
  /** h_ref: height of the anchor block (≥ 0). */
  anchorHeight: number | bigint;
  /** t_ref: timestamp of the anchor block's parent. */
  anchorParentTime: number | bigint;
  /** b_ref: compact bits of the anchor block; must decode to a target in [1, powLimit]. */
  anchorBits: number;
  /** h_eval: height of the evaluation block (the parent of the block being computed); ≥ anchorHeight. */
  height: number | bigint;
  /** t_eval: timestamp of the evaluation block. */
  time: number | bigint;
  /** Ideal time between blocks (> 0), in the unit of the times. */
  targetSpacing: number | bigint;
  /** Time for the target to double (or halve) when a chain runs that far off schedule (> 0). */
  halfLife: number | bigint;
  /** Easiest allowed target, in [1, 2^256). */
  powLimit: bigint;
}

/**
 * The target (not yet compact) required of the child of the evaluation
 * block: the spec's `next_target` after its clamp, i.e. in [1, powLimit].
 * Throws TypeError/RangeError on inputs outside the spec's preconditions.
 */
export function nextTargetAsert(input: AsertInput): bigint {
  const anchorHeight = int(input.anchorHeight, 'anchorHeight');
  const anchorParentTime = int(input.anchorParentTime, 'anchorParentTime');
  const height = int(input.height, 'height');
  const time = int(input.time, 'time');
  const spacing = int(input.targetSpacing, 'targetSpacing');
  const halfLife = int(input.halfLife, 'halfLife');
  const powLimit = input.powLimit;
  if (typeof powLimit !== 'bigint') throw new TypeError('powLimit must be a bigint');
  if (powLimit < 1n || powLimit > MAX_UINT256) throw new RangeError('powLimit outside [1, 2^256)');
  if (anchorHeight < 0n) throw new RangeError('anchorHeight must be ≥ 0');
  if (height < anchorHeight) throw new RangeError('height (evaluation block) is below anchorHeight');
  if (spacing <= 0n) throw new RangeError('targetSpacing must be > 0');
  if (halfLife <= 0n) throw new RangeError('halfLife must be > 0');
  const anchor = bitsToTarget(input.anchorBits);
  if (!anchor.ok) throw new RangeError(`anchorBits: ${anchor.code}: ${anchor.detail}`);
  const refTarget = anchor.value;
  if (refTarget > powLimit) throw new RangeError('anchorBits encode a target above powLimit');

  const timeDelta = time - anchorParentTime;
  const heightDelta = height - anchorHeight;
  // BigInt division truncates toward zero: the spec's trunc_div (not floor).
  const exponent = ((timeDelta - spacing * (heightDelta + 1n)) << ASERT_RADIX_BITS) / halfLife;
  // BigInt >> is arithmetic (floor), as the spec requires; frac is in [0, 65535].
  const numShifts = exponent >> ASERT_RADIX_BITS;
  const frac = exponent - (numShifts << ASERT_RADIX_BITS);
  const factor =
    ((195766423245049n * frac + 971821376n * frac * frac + 5127n * frac * frac * frac + (1n << 47n)) >> 48n) +
    65536n;
  const product = refTarget * factor; // < 2^273

  // next = floor(product · 2^numShifts / 2^16). Outside these bounds the result
  // is known without shifting: ≥ 2^256 above, 0 below.
  const shift = numShifts - ASERT_RADIX_BITS;
  if (shift >= 256n) return powLimit;
  if (shift <= -274n) return 1n;
  const next = shift < 0n ? product >> -shift : product << shift;

  if (next === 0n) return 1n; // hardest valid target
  if (next > powLimit) return powLimit; // easiest allowed target
  return next;
}

/**
 * b_next: the compact bits required of the child of the evaluation block,
 * `targetToBits(nextTargetAsert(input))`. The compact form rounds down, so
 * the bits never encode a target above powLimit.
 */
export function nextBitsAsert(input: AsertInput): number {
  return targetToBits(nextTargetAsert(input));
}

function int(v: number | bigint, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} is not a safe integer; pass a bigint`);
  return BigInt(v);
}
