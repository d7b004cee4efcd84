/**
 * Freivalds' check of a claimed int8 product: is C = A·B?
 *
 * Each round draws a vector x from the stream (seed, 'freivalds') and
 * compares A·(B·x) with C·x in O(mk + kn + mn) instead of O(mkn). Every x_j
 * is non-zero, so a C that differs from AB in a single entry is caught in
 * every round; any other wrong C survives a round with probability at most
 * 2^−e (e the entry width below), since for a wrong row d of C − AB the
 * equation d·x = 0 fixes x_j for one j with d_j ≠ 0 given the others.
 *
 * Arithmetic is exact in float64 without BigInt. With |A|, |B| ≤ 64,
 * |C| ≤ 64·64·k (a larger entry cannot be a product and fails at once),
 * x_j ∈ [1, 2^e] and L = ⌈log2(k·n)⌉, e = min(20, 40 − L):
 *   |(B·x)_t| ≤ n·64·2^e,  |(A·(B·x))_i| ≤ k·n·2^12·2^e ≤ 2^(L+12+40−L) = 2^52,
 *   |(C·x)_i| ≤ n·2^12·k·2^e ≤ 2^52,
 * and every partial sum is bounded the same way, so all stay below 2^53.
 * For 1024×1024×1024, L = 20 and e = 20 (the bound is exactly 2^52). Shapes
 * with k·n > 2^39 (e < 1) are refused with a RangeError.
 *
 * It checks a product; it does not know tasks, commitments or the lottery.
 * @module
 */
import { assertBytes } from './bytes.js';
import { ENTRY_BOUND, expand } from './lottery.js';

/** Label of the stream the vectors come from. */
export const FREIVALDS_LABEL = 'freivalds';
/** Largest entry width: x_j ∈ [1, 2^20]. */
export const FREIVALDS_MAX_BITS = 20;

/** ⌈log2 v⌉ for an integer v ≥ 1, by integer steps. */
function ceilLog2(v: number): number {
  let l = 0;
  let p = 1;
  while (p < v) {
    p *= 2;
    l++;
  }
  return l;
}

/** Bits of each vector entry for an inner dimension k and width n, or a RangeError when none fit. */
export function freivaldsEntryBits(k: number, n: number): number {
  const e = Math.min(FREIVALDS_MAX_BITS, 40 - ceilLog2(k * n));
  if (e < 1) throw new RangeError(`k·n = ${k * n} above 2^39: sums could pass 2^53`);
  return e;
}

function checkShape(M: ArrayLike<number>, rows: number, cols: number, what: string): void {
  if (M.length !== rows * cols) throw new RangeError(`${what} must hold ${rows}×${cols} entries, got ${M.length}`);
}

/**
 * Does C (m×n, int32) equal A (m×k) · B (k×n), all row-major, with A and B
 * entries in [−64, 64]? `rounds` independent vectors from (seed, 'freivalds'):
 * round ρ, entry j takes bytes 4(ρ·n + j) .. +3 as u32le u, x_j = 1 + (u mod 2^e).
 */
export function freivalds(
  A: Int8Array,
  B: Int8Array,
  C: Int32Array,
  m: number,
  k: number,
  n: number,
  seed: Uint8Array,
  rounds: number,
): boolean {
  if (!(A instanceof Int8Array) || !(B instanceof Int8Array)) throw new TypeError('A and B must be Int8Arrays');
  if (!(C instanceof Int32Array)) throw new TypeError('C must be an Int32Array');
  assertBytes(seed, 32, 'seed');
  for (const [v, what] of [
    [m, 'm'],
    [k, 'k'],
    [n, 'n'],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${what} must be an integer ≥ 1, got ${v}`);
  }
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1024) throw new RangeError(`rounds must be in [1, 1024], got ${rounds}`);
  checkShape(A, m, k, 'A');
  checkShape(B, k, n, 'B');
  checkShape(C, m, n, 'C');
  const e = freivaldsEntryBits(k, n);
  for (const [M, what] of [
    [A, 'A'],
    [B, 'B'],
  ] as const) {
    for (let i = 0; i < M.length; i++) {
      if (M[i]! < -ENTRY_BOUND || M[i]! > ENTRY_BOUND) throw new RangeError(`${what}[${i}] = ${M[i]} outside [−64, 64]`);
    }
  }
  // A product entry is at most 64·64·k in size; a larger one is wrong (and would break the bound).
  const cMax = ENTRY_BOUND * ENTRY_BOUND * k;
  for (let i = 0; i < C.length; i++) if (C[i]! < -cMax || C[i]! > cMax) return false;

  const mask = (1 << e) - 1;
  const bytes = expand(seed, FREIVALDS_LABEL, 4 * n * rounds);
  const x = new Float64Array(n);
  const y = new Float64Array(k);
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < n; j++) {
      const at = 4 * (round * n + j);
      const u = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
      x[j] = 1 + (u & mask);
    }
    for (let t = 0; t < k; t++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[t * n + j]! * x[j]!;
      y[t] = s;
    }
    for (let i = 0; i < m; i++) {
      let abx = 0;
      for (let t = 0; t < k; t++) abx += A[i * k + t]! * y[t]!;
      let cx = 0;
      for (let j = 0; j < n; j++) cx += C[i * n + j]! * x[j]!;
      if (abx !== cx) return false;
    }
  }
  return true;
}
