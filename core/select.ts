/**
 * Weighted random sector selection (DESIGN §5), in integers only.
 *
 * For each eligible sector s (weight > 0, s ≠ origin):
 *   x_s   = first 8 bytes, big-endian, of H_tag("pouw/select", purpose ‖ R ‖ txid ‖ u32 s)
 *   u_s   = (x_s + 1) / 2^64                         ∈ (0, 1]
 *   key_s = −ln(u_s) / weight_s
 * and sectors are ordered by ascending key (ties by ascending id). This is the
 * Efraimidis–Spirakis weighted sample without replacement: the first sector is
 * drawn with probability proportional to its weight, and so on.
 *
 * −ln(u) = ln 2 · (64 − log2(x + 1)); the constant ln 2 does not change the
 * order, so the key compared is  K_s = 64·2^32 − log2_32(x_s + 1)  with
 * log2_32 a fixed-point base-2 logarithm with 32 fraction bits computed by
 * the exact bigint squaring method, and K_a/w_a < K_b/w_b is decided as
 * K_a·w_b < K_b·w_a. No floating point anywhere, so every node and the edge
 * compute the same order.
 *
 * The first `count` sectors of the order are the primary choice; the rest, in
 * order, are the fallbacks used when a primary does not act in time.
 * @module
 */
import { assertBytes } from './bytes.js';
import { encodeWith } from './codec.js';
import { fail, ok, type Result } from './errors.js';
import { TAGS, taggedHash } from './hash.js';

export const LOG2_FRACTION_BITS = 32;

/** What a draw is for; part of the hashed input, so the two orders are independent. */
export const SELECT_PURPOSE = { record: 1, witness: 2 } as const;
export type SelectPurpose = keyof typeof SELECT_PURPOSE;

/** floor(log2(x) · 2^32) for x ≥ 1, exact to the last of its 32 fraction bits. */
export function log2Fixed(x: bigint): bigint {
  if (x < 1n) throw new RangeError('log2 of a value < 1');
  const F = BigInt(LOG2_FRACTION_BITS);
  const n = BigInt(x.toString(2).length - 1);
  // y = x / 2^n in [1, 2), held with a wide mantissa so squaring keeps precision.
  const P = 64n;
  const one = 1n << P;
  let y = n >= P ? x >> (n - P) : x << (P - n);
  let result = n << F;
  for (let bit = F - 1n; bit >= 0n; bit--) {
    y = (y * y) >> P;
    if (y >= one << 1n) {
      y >>= 1n;
      result |= 1n << bit;
    }
  }
  return result;
}

/** The draw of one sector: x_s as a bigint in [0, 2^64). */
export function selectionDraw(purpose: SelectPurpose, beacon: Uint8Array, txid: Uint8Array, sectorId: number): bigint {
  assertBytes(beacon, 32, 'beacon');
  assertBytes(txid, 32, 'txid');
  const h = taggedHash(
    TAGS.select,
    encodeWith((w) => w.u8(SELECT_PURPOSE[purpose]).fixed(beacon, 32).fixed(txid, 32).u32(sectorId)),
  );
  let x = 0n;
  for (let i = 0; i < 8; i++) x = (x << 8n) | BigInt(h[i]!);
  return x;
}

/** K_s: proportional to −ln(u_s); larger draws give smaller keys. */
export function selectionKey(x: bigint): bigint {
  return (64n << BigInt(LOG2_FRACTION_BITS)) - log2Fixed(x + 1n);
}

export interface SelectInput {
  purpose: SelectPurpose;
  beacon: Uint8Array;
  txid: Uint8Array;
  /** The sector the tx comes from, excluded from the draw; null for none. */
  origin: number | null;
  sectors: readonly { id: number; weight: number }[];
  /** How many sectors are needed (recordSectors or witnessSectors). */
  count: number;
}

export interface Selection {
  /** Every eligible sector, best first. */
  order: number[];
  primary: number[];
  fallback: number[];
}

/** The selection order; `select-too-few-sectors` when fewer than `count` are eligible. */
export function selectSectors(input: SelectInput): Result<Selection> {
  const { purpose, beacon, txid, origin, sectors, count } = input;
  if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be an integer ≥ 1');
  const seen = new Set<number>();
  const keyed: { id: number; weight: bigint; key: bigint }[] = [];
  for (const s of sectors) {
    if (!Number.isInteger(s.weight) || s.weight < 0) throw new RangeError(`sector ${s.id}: bad weight ${s.weight}`);
    if (seen.has(s.id)) throw new RangeError(`sector ${s.id} listed twice`);
    seen.add(s.id);
    if (s.id === origin || s.weight === 0) continue;
    keyed.push({ id: s.id, weight: BigInt(s.weight), key: selectionKey(selectionDraw(purpose, beacon, txid, s.id)) });
  }
  if (keyed.length < count) {
    return fail('select-too-few-sectors', `${keyed.length} eligible sectors, ${count} needed`);
  }
  keyed.sort((a, b) => {
    const l = a.key * b.weight;
    const r = b.key * a.weight;
    return l < r ? -1 : l > r ? 1 : a.id - b.id;
  });
  const order = keyed.map((k) => k.id);
  return ok({ order, primary: order.slice(0, count), fallback: order.slice(count) });
}
