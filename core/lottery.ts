/**
 * The int8 matmul lottery (DESIGN §4), reference implementation.
 *
 * This is the oracle: native and WASM kernels must reproduce its seeds,
 * noise, tile states, tickets and recovered products bit for bit. It favours
 * plain loops over cleverness; every integer stays exact (the bounds are
 * stated where they matter, so a C++ kernel knows int32 suffices).
 *
 * Steps, in the order a miner runs them:
 * 1. `lotterySeeds`: job key = H_job(header with nonce zeroed ‖ config);
 *    seedB = H_seedB(job key ‖ commitB ‖ u32 n); seedA = H_seedA(seedB ‖ commitA ‖ u32 m).
 * 2. Low-rank noise E = E_L·E_R (from seedA) and F = F_L·F_R (from seedB), so
 *    A+E and B+F are int8 in [−127, 127] for task entries in [−64, 64].
 * 3. `runLottery`: C′ = (A+E)(B+F) with int32 sums; after every r-wide slice
 *    of k each output tile folds its accumulators into a 16-word state;
 *    ticket = H_ticket(seedA ‖ tile index ‖ state); small tickets win.
 * 4. Exact recovery of AB from C′ with two rank-r corrections.
 * 5. `openTile` / `verifyTile`: a winning tile is proven by its h rows of A and
 *    w columns of B with merkle proofs; a verifier regenerates only their noise.
 *
 * It does not know tasks, blocks or difficulty: the caller passes the task's
 * matrices or commitments, the header bytes and the target. Bad inputs from a
 * miner's own code throw TypeError/RangeError; bad openings from the network
 * are `Result` values with stable codes.
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { assertBytes, bytesToBigIntLE, utf8ToBytes } from './bytes.js';
import { fail, ok, type Result } from './errors.js';
import type { RejectCode } from './reject.js';
import { TAGS, taggedHash } from './hash.js';
import { HEADER_BYTES, NONCE_BYTES, NONCE_OFFSET, headerWithoutNonce, type BlockHeader } from './header.js';
import { auditPath, leafHash, merkleLevels, verifyLeaf } from './merkle.js';
import type { LotteryParams } from './params.js';
import { MAX_UINT256 } from './target.js';

/** Labels of the deterministic streams drawn from seedA (E) and seedB (F). */
export const NOISE_LABELS = { EL: 'EL', ER: 'ER', FL: 'FL', FR: 'FR' } as const;

/** Task entries lie in [−ENTRY_BOUND, ENTRY_BOUND]. */
export const ENTRY_BOUND = 64;
/** Largest inner dimension: 127·127·2^16 < 2^31, so int32 sums never overflow. */
export const MAX_INNER_DIM = 65536;
/** Words in a tile state. */
export const STATE_WORDS = 16;
/** Left rotation applied to every state word after each slice. */
export const STATE_ROTATE = 13;

/** Rejection codes of `verifyTile`. Stable: they appear in logs and peers' ban reasons. */
export const LOTTERY_ERRORS = [
  'lottery-bad-dims', // task or config breaks a shape rule, tile index outside, or opened data of the wrong size
  'lottery-bad-opening', // an opened row of A or column of B does not prove against its commitment
  'lottery-bad-entry', // an opened entry lies outside [−64, 64]
  'lottery-high-ticket', // the tile's ticket is above the threshold
] as const;
export type LotteryErrorCode = (typeof LOTTERY_ERRORS)[number];

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;
const BLOCK_BYTES = 32;
const TWO_32 = 0x1_0000_0000;

// ---------------------------------------------------------------------------
// Deterministic stream

/**
 * `count` bytes of the stream (seed, label) starting at byte `offset`.
 * Block i = SHA-256(seed ‖ utf8(label) ‖ u64le(i)), blocks concatenated.
 * The seed has a fixed length and the counter sits last, so streams with
 * different labels never share an input.
 */
export function expandRange(seed: Uint8Array, label: string, offset: number, count: number): Uint8Array {
  assertBytes(seed, 32, 'seed');
  if (typeof label !== 'string') throw new TypeError('label must be a string');
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a safe integer ≥ 0, got ${offset}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a safe integer ≥ 0, got ${count}`);
  if (!Number.isSafeInteger(offset + count)) throw new RangeError('stream range beyond 2^53');
  const out = new Uint8Array(count);
  if (count === 0) return out;
  const base = nobleSha256.create().update(seed).update(utf8ToBytes(label));
  const ctr = new Uint8Array(8);
  const view = new DataView(ctr.buffer);
  const end = offset + count;
  const first = Math.floor(offset / BLOCK_BYTES);
  const last = Math.floor((end - 1) / BLOCK_BYTES);
  for (let i = first; i <= last; i++) {
    view.setUint32(0, i % TWO_32, true);
    view.setUint32(4, Math.floor(i / TWO_32), true);
    const block = base.clone().update(ctr).digest();
    const start = i * BLOCK_BYTES;
    const from = Math.max(offset, start);
    const to = Math.min(end, start + BLOCK_BYTES);
    out.set(block.subarray(from - start, to - start), from - offset);
  }
  return out;
}

/** The first `count` bytes of the stream (seed, label). */
export function expand(seed: Uint8Array, label: string, count: number): Uint8Array {
  return expandRange(seed, label, 0, count);
}

// ---------------------------------------------------------------------------
// Configuration, dimensions, seeds

/** Why (m, k, n) and `config` cannot run a lottery, or null when they can. */
export function lotteryDimsProblem(m: number, k: number, n: number, config: LotteryShape & { macsPerHash?: bigint }): string | null {
  const u32 = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= U32_MAX;
  if (!u32(m, 1) || !u32(n, 1) || !u32(k, 1)) return `dimensions must be integers in [1, 2^32): ${m}×${k}×${n}`;
  if (typeof config !== 'object' || config === null) return 'config must be an object';
  const { rank, tileRows, tileCols, macsPerHash } = config;
  if (!u32(rank, 2) || rank > MAX_INNER_DIM) return `rank must be an integer in [2, ${MAX_INNER_DIM}], got ${rank}`;
  if (!u32(tileRows, 1) || !u32(tileCols, 1)) return `tile dims must be integers in [1, 2^32): ${tileRows}×${tileCols}`;
  // macsPerHash only prices tickets; the seeded run (what kernels compute) has none.
  if ('macsPerHash' in config && (typeof macsPerHash !== 'bigint' || macsPerHash < 1n || macsPerHash > U64_MAX)) {
    return 'macsPerHash must be a bigint in [1, 2^64)';
  }
  if (k > MAX_INNER_DIM) return `k = ${k} above ${MAX_INNER_DIM} (int32 sums could overflow)`;
  if (k < rank) return `k = ${k} below the rank ${rank}: no slice to fold`;
  if (m % tileRows !== 0) return `m = ${m} not a multiple of tileRows = ${tileRows}`;
  if (n % tileCols !== 0) return `n = ${n} not a multiple of tileCols = ${tileCols}`;
  return null;
}

/** The shape part of the lottery parameters: what the kernels need. */
export type LotteryShape = Pick<LotteryParams, 'rank' | 'tileRows' | 'tileCols'>;

function assertDims(m: number, k: number, n: number, config: LotteryShape & { macsPerHash?: bigint }): void {
  const problem = lotteryDimsProblem(m, k, n, config);
  if (problem !== null) throw new RangeError(problem);
}

/** k′: k rounded down to a multiple of the rank, the part of k that is folded into tile states. */
export function foldedDepth(k: number, rank: number): number {
  return k - (k % rank);
}

/** u32le rank ‖ u32le tileRows ‖ u32le tileCols ‖ u64le macsPerHash (20 bytes). */
export function encodeLotteryConfig(config: LotteryParams): Uint8Array {
  const { rank, tileRows, tileCols, macsPerHash } = config;
  for (const [v, what] of [
    [rank, 'rank'],
    [tileRows, 'tileRows'],
    [tileCols, 'tileCols'],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`${what} must be a u32, got ${v}`);
  }
  if (typeof macsPerHash !== 'bigint') throw new TypeError('macsPerHash must be a bigint');
  if (macsPerHash < 0n || macsPerHash > U64_MAX) throw new RangeError('macsPerHash must be a u64');
  const out = new Uint8Array(20);
  const v = new DataView(out.buffer);
  v.setUint32(0, rank, true);
  v.setUint32(4, tileRows, true);
  v.setUint32(8, tileCols, true);
  v.setBigUint64(12, macsPerHash, true);
  return out;
}

function u32le(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => {
    if (!Number.isInteger(x) || x < 0 || x > U32_MAX) throw new RangeError(`not a u32: ${x}`);
    v.setUint32(4 * i, x, true);
  });
  return out;
}

function assertHeaderNoNonce(header: Uint8Array): void {
  assertBytes(header, HEADER_BYTES, 'header with nonce zeroed');
  for (let i = NONCE_OFFSET; i < NONCE_OFFSET + NONCE_BYTES; i++) {
    if (header[i] !== 0) throw new RangeError('the lottery takes the header with its nonce zeroed');
  }
}

export interface LotterySeeds {
  jobKey: Uint8Array;
  seedB: Uint8Array;
  seedA: Uint8Array;
}

export interface LotterySeedInput {
  /** The 104-byte header with its nonce bytes zero. */
  headerNoNonce: Uint8Array;
  config: LotteryParams;
  /** Merkle root over the rows of A (`commitRows`). */
  commitA: Uint8Array;
  /** Merkle root over the columns of B (`commitColumns`). */
  commitB: Uint8Array;
  m: number;
  n: number;
}

/**
 * The three seeds. The header binds the work to one block template (the
 * nonce is zeroed: it is spent after the lottery, on nothing); seedB binds B
 * and seedA binds A, so F can be precomputed per template before A is known.
 * k is bound through the commitments (each leaf carries its length).
 */
export function lotterySeeds(input: LotterySeedInput): LotterySeeds {
  const { headerNoNonce, config, commitA, commitB, m, n } = input;
  assertHeaderNoNonce(headerNoNonce);
  assertBytes(commitA, 32, 'commitA');
  assertBytes(commitB, 32, 'commitB');
  const jobKey = taggedHash(TAGS.lotteryJob, headerNoNonce, encodeLotteryConfig(config));
  const seedB = taggedHash(TAGS.lotterySeedB, jobKey, commitB, u32le(n));
  const seedA = taggedHash(TAGS.lotterySeedA, seedB, commitA, u32le(m));
  return { jobKey, seedB, seedA };
}

/** `lotterySeeds` from a header object (its nonce is ignored). */
export function lotterySeedsForHeader(
  header: BlockHeader,
  rest: Omit<LotterySeedInput, 'headerNoNonce'>,
): LotterySeeds {
  return lotterySeeds({ ...rest, headerNoNonce: headerWithoutNonce(header) });
}

/**
 * Highest winning ticket of one tile: target · (tileRows·tileCols·k′) / macsPerHash,
 * floored, capped at 2^256 − 1. A tile's chance is its multiply-adds priced in hashes.
 */
export function ticketThreshold(target: bigint, config: LotteryParams, k: number): bigint {
  if (typeof target !== 'bigint') throw new TypeError('target must be a bigint');
  if (target < 0n || target > MAX_UINT256) throw new RangeError('target outside [0, 2^256)');
  const { rank, tileRows, tileCols, macsPerHash } = config;
  if (typeof macsPerHash !== 'bigint' || macsPerHash < 1n) throw new RangeError('macsPerHash must be a bigint ≥ 1');
  if (!Number.isInteger(rank) || rank < 1 || !Number.isInteger(k) || k < 0) throw new RangeError('bad rank or k');
  const macs = BigInt(tileRows) * BigInt(tileCols) * BigInt(foldedDepth(k, rank));
  const t = (target * macs) / macsPerHash;
  return t > MAX_UINT256 ? MAX_UINT256 : t;
}

/** Does `ticket`, read as a little-endian 256-bit integer, meet `threshold`? */
export function ticketWins(ticket: Uint8Array, threshold: bigint): boolean {
  assertBytes(ticket, 32, 'ticket');
  return bytesToBigIntLE(ticket) <= threshold;
}

// ---------------------------------------------------------------------------
// Noise

/**
 * One low-rank noise matrix N (rows×k) = D·S with D (rows×r) dense, entries
 * uniform in [−32, 31], and S (r×k) holding, in each column t, +1 in row
 * plus[t] and −1 in row minus[t] (plus[t] ≠ minus[t]). So
 * N[i][t] = D[i][plus[t]] − D[i][minus[t]] ∈ [−63, 63].
 *
 * E (m×k) is this with D = E_L, E_L[i][c] from byte i·r + c of stream
 * (seedA, 'EL'), and S = E_R from (seedA, 'ER'). F (k×n) is its transpose:
 * Fᵀ = F_Rᵀ·F_Lᵀ, with D = F_Rᵀ, F_R[c][j] from byte j·r + c of (seedB, 'FR')
 * (a tile's columns are one contiguous range), and the pairs of S being the
 * +1 and −1 columns of row t of F_L, from (seedB, 'FL').
 */
export interface LowRankNoise {
  /** Rows rowStart..rowStart+rowCount of D, row-major (rowCount × r). */
  dense: Int8Array;
  rowStart: number;
  rowCount: number;
  /** Per column t of k: where the +1 and the −1 of S sit (indices into r). */
  plus: Int32Array;
  minus: Int32Array;
  rank: number;
}

/** Dense entry from one stream byte: (b & 63) − 32, uniform in [−32, 31]. */
function denseEntries(bytes: Uint8Array): Int8Array {
  const out = new Int8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i]! & 63) - 32;
  return out;
}

/**
 * Pairs from 4 stream bytes per column: u = u16le, v = u16le;
 * plus = u mod r, minus = (plus + 1 + v mod (r − 1)) mod r, so plus ≠ minus.
 * (The modulo bias, below r/2^16 relative, makes some pairs slightly likelier;
 * the noise's job, tying C′ to one block template so no product can be
 * computed ahead of it, does not need uniform pairs.)
 */
function pairEntries(bytes: Uint8Array, count: number, rank: number): { plus: Int32Array; minus: Int32Array } {
  const plus = new Int32Array(count);
  const minus = new Int32Array(count);
  for (let t = 0; t < count; t++) {
    const u = bytes[4 * t]! | (bytes[4 * t + 1]! << 8);
    const v = bytes[4 * t + 2]! | (bytes[4 * t + 3]! << 8);
    const a = u % rank;
    plus[t] = a;
    minus[t] = (a + 1 + (v % (rank - 1))) % rank;
  }
  return { plus, minus };
}

/**
 * Rows [rowStart, rowStart + rowCount) of the dense factor and all k pairs of
 * one noise matrix. A verifier asks only for a tile's rows; a miner asks for all.
 */
export function lowRankNoise(
  seed: Uint8Array,
  denseLabel: string,
  pairLabel: string,
  k: number,
  rank: number,
  rowStart: number,
  rowCount: number,
): LowRankNoise {
  if (!Number.isInteger(rank) || rank < 2 || rank > MAX_INNER_DIM) throw new RangeError(`rank must be in [2, ${MAX_INNER_DIM}]`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_INNER_DIM) throw new RangeError(`k must be in [1, ${MAX_INNER_DIM}]`);
  const dense = denseEntries(expandRange(seed, denseLabel, rowStart * rank, rowCount * rank));
  const { plus, minus } = pairEntries(expand(seed, pairLabel, 4 * k), k, rank);
  return { dense, rowStart, rowCount, plus, minus, rank };
}

/** E's rows [rowStart, rowStart + rowCount) in factored form (D = E_L, S = E_R). */
export function noiseE(seedA: Uint8Array, k: number, rank: number, rowStart: number, rowCount: number): LowRankNoise {
  return lowRankNoise(seedA, NOISE_LABELS.EL, NOISE_LABELS.ER, k, rank, rowStart, rowCount);
}

/** Fᵀ's rows (F's columns) [colStart, colStart + colCount) in factored form (D = F_Rᵀ, S = F_Lᵀ). */
export function noiseF(seedB: Uint8Array, k: number, rank: number, colStart: number, colCount: number): LowRankNoise {
  return lowRankNoise(seedB, NOISE_LABELS.FR, NOISE_LABELS.FL, k, rank, colStart, colCount);
}

/** lines (rowCount × k, row-major) + the matching rows of the noise, as int8. */
function addNoise(lines: Int8Array, noise: LowRankNoise, k: number): Int8Array {
  const { dense, plus, minus, rank: r, rowCount } = noise;
  const out = new Int8Array(rowCount * k);
  for (let i = 0; i < rowCount; i++) {
    const d = i * r;
    const row = i * k;
    for (let t = 0; t < k; t++) out[row + t] = lines[row + t]! + dense[d + plus[t]!]! - dense[d + minus[t]!]!;
  }
  return out;
}

/** B (k×n) + F, row-major, from F's factored transpose. */
function addNoiseTransposed(B: Int8Array, f: LowRankNoise, k: number, n: number): Int8Array {
  const { dense, plus, minus, rank: r } = f;
  const out = new Int8Array(k * n);
  for (let t = 0; t < k; t++) {
    const p = plus[t]!;
    const q = minus[t]!;
    const row = t * n;
    for (let j = 0; j < n; j++) out[row + j] = B[row + j]! + dense[j * r + p]! - dense[j * r + q]!;
  }
  return out;
}

function checkEntries(M: Int8Array, length: number, what: string): void {
  if (!(M instanceof Int8Array)) throw new TypeError(`${what} must be an Int8Array`);
  if (M.length !== length) throw new RangeError(`${what} must hold ${length} entries, got ${M.length}`);
  for (let i = 0; i < length; i++) {
    const x = M[i]!;
    if (x < -ENTRY_BOUND || x > ENTRY_BOUND) throw new RangeError(`${what}[${i}] = ${x} outside [−64, 64]`);
  }
}

export interface NoisyOperands {
  /** A + E, m×k row-major, entries in [−127, 127]. */
  AE: Int8Array;
  /** B + F, k×n row-major, entries in [−127, 127]. */
  BF: Int8Array;
  e: LowRankNoise;
  f: LowRankNoise;
}

/** A + E and B + F for the given seeds (what a kernel multiplies). */
export function noisyOperands(
  A: Int8Array,
  B: Int8Array,
  m: number,
  k: number,
  n: number,
  rank: number,
  seeds: Pick<LotterySeeds, 'seedA' | 'seedB'>,
): NoisyOperands {
  checkEntries(A, m * k, 'A');
  checkEntries(B, k * n, 'B');
  const e = noiseE(seeds.seedA, k, rank, 0, m);
  const f = noiseF(seeds.seedB, k, rank, 0, n);
  return { AE: addNoise(A, e, k), BF: addNoiseTransposed(B, f, k, n), e, f };
}

// ---------------------------------------------------------------------------
// Tile states and tickets

/**
 * End of slice s: rotate every word left by 13, then add s + 1 to word s mod 16
 * (so the same accumulators at a different slice boundary fold differently).
 */
function finishSlice(state: Uint32Array, s: number): void {
  for (let t = 0; t < STATE_WORDS; t++) {
    const x = state[t]!;
    state[t] = (x << STATE_ROTATE) | (x >>> (32 - STATE_ROTATE));
  }
  const w = s % STATE_WORDS;
  state[w] = (state[w]! + s + 1) >>> 0;
}

/**
 * State of one tile from its rows of A+E (h×k) and its columns of B+F given
 * as rows of (B+F)ᵀ (w×k). Accumulators are int32: |Σ| ≤ 127·127·k < 2^31.
 * After slice s (columns s·r .. s·r + r − 1 of k), accumulator (i, j) is
 * XORed, as u32, into word (i·w + j) mod 16; columns past k′ are not folded.
 */
export function tileState(AE: Int8Array, BFT: Int8Array, h: number, w: number, k: number, rank: number): Uint32Array {
  const acc = new Int32Array(h * w);
  const state = new Uint32Array(STATE_WORDS);
  const slices = Math.floor(k / rank);
  for (let s = 0; s < slices; s++) {
    const t0 = s * rank;
    const t1 = t0 + rank;
    for (let i = 0; i < h; i++) {
      const a = i * k;
      for (let j = 0; j < w; j++) {
        const b = j * k;
        let sum = 0;
        for (let t = t0; t < t1; t++) sum += AE[a + t]! * BFT[b + t]!;
        acc[i * w + j] += sum;
      }
    }
    for (let x = 0; x < h * w; x++) state[x % STATE_WORDS] ^= acc[x]!;
    finishSlice(state, s);
  }
  return state;
}

/** ticket = H_ticket(seedA ‖ u32le ti ‖ u32le tj ‖ 16 state words, u32le each). */
export function tileTicket(seedA: Uint8Array, ti: number, tj: number, state: Uint32Array): Uint8Array {
  assertBytes(seedA, 32, 'seedA');
  if (!(state instanceof Uint32Array) || state.length !== STATE_WORDS) throw new TypeError('state must be 16 u32 words');
  const body = new Uint8Array(8 + 4 * STATE_WORDS);
  const v = new DataView(body.buffer);
  body.set(u32le(ti, tj), 0);
  for (let t = 0; t < STATE_WORDS; t++) v.setUint32(8 + 4 * t, state[t]!, true);
  return taggedHash(TAGS.lotteryTicket, seedA, body);
}

export interface RunLotteryInput {
  /** m×k, row-major, entries in [−64, 64]. */
  A: Int8Array;
  /** k×n, row-major, entries in [−64, 64]. */
  B: Int8Array;
  m: number;
  k: number;
  n: number;
  commitA: Uint8Array;
  commitB: Uint8Array;
  /** The 104-byte header with its nonce bytes zero. */
  headerNoNonce: Uint8Array;
  config: LotteryParams;
  target: bigint;
  /** Also return the exact product AB. */
  recover?: boolean;
}

export interface LotteryWinner {
  ti: number;
  tj: number;
  ticket: Uint8Array;
}

export interface LotteryRun {
  /** The seeds used; jobKey is there when they were derived by `runLottery`. */
  seeds: Pick<LotterySeeds, 'seedA' | 'seedB'> & Partial<LotterySeeds>;
  /** Highest winning ticket (as a little-endian integer). */
  threshold: bigint;
  /** Every tile's final 16-word state, tiles in row-major order (ti major), 16 words each. */
  states: Uint32Array;
  /** Every tile's ticket, in the same order. */
  tickets: Uint8Array[];
  /** Tiles whose ticket meets the threshold, in the same order. */
  winners: LotteryWinner[];
  /** AB exactly, m×n row-major, when `recover` was asked for. */
  product?: Int32Array;
  /** Multiply-adds that bought lottery chances: m·n·k′. */
  macs: bigint;
}

/** acc (m×n) += AE[:, t0..t1) · BF[t0..t1, :], in int32 (wrapping, as the kernels do). */
export function accumulateProduct(AE: Int8Array, BF: Int8Array, acc: Int32Array, m: number, k: number, n: number, t0: number, t1: number): void {
  for (let i = 0; i < m; i++) {
    const aRow = i * k;
    const cRow = i * n;
    for (let t = t0; t < t1; t++) {
      const a = AE[aRow + t]!;
      if (a === 0) continue;
      const bRow = t * n;
      for (let j = 0; j < n; j++) acc[cRow + j] = (acc[cRow + j]! + a * BF[bRow + j]!) | 0;
    }
  }
}

/** Runs the whole lottery over A·B: every tile's ticket, the winners and, optionally, AB. */
export function runLottery(input: RunLotteryInput): LotteryRun & { seeds: LotterySeeds } {
  assertDims(input.m, input.k, input.n, input.config);
  const seeds = lotterySeeds(input);
  return { ...runLotteryWithSeeds({ ...input, seeds, threshold: ticketThreshold(input.target, input.config, input.k) }), seeds };
}

export interface SeededLotteryInput {
  A: Int8Array;
  B: Int8Array;
  m: number;
  k: number;
  n: number;
  config: LotteryShape;
  seeds: Pick<LotterySeeds, 'seedA' | 'seedB'>;
  threshold: bigint;
  recover?: boolean;
}

/**
 * The lottery from seeds and threshold already derived: what the kernels
 * compute (seeds are cheap and are derived once, in TypeScript).
 */
export function runLotteryWithSeeds(input: SeededLotteryInput): LotteryRun {
  const { A, B, m, k, n, seeds, threshold, config } = input;
  assertDims(m, k, n, config);
  const { rank: r, tileRows: h, tileCols: w } = config;
  const { AE, BF, e, f } = noisyOperands(A, B, m, k, n, r, seeds);

  const acc = new Int32Array(m * n);
  const down = m / h;
  const across = n / w;
  const states = new Uint32Array(down * across * STATE_WORDS);
  const slices = Math.floor(k / r);
  for (let s = 0; s < slices; s++) {
    accumulateProduct(AE, BF, acc, m, k, n, s * r, s * r + r);
    for (let ti = 0; ti < down; ti++) {
      for (let tj = 0; tj < across; tj++) {
        const st = states.subarray((ti * across + tj) * STATE_WORDS, (ti * across + tj + 1) * STATE_WORDS);
        for (let i = 0; i < h; i++) {
          const row = (ti * h + i) * n + tj * w;
          for (let j = 0; j < w; j++) st[(i * w + j) % STATE_WORDS] ^= acc[row + j]!;
        }
        finishSlice(st, s);
      }
    }
  }
  accumulateProduct(AE, BF, acc, m, k, n, slices * r, k);

  const tickets: Uint8Array[] = [];
  const winners: LotteryWinner[] = [];
  for (let ti = 0; ti < down; ti++) {
    for (let tj = 0; tj < across; tj++) {
      const at = (ti * across + tj) * STATE_WORDS;
      const ticket = tileTicket(seeds.seedA, ti, tj, states.subarray(at, at + STATE_WORDS));
      tickets.push(ticket);
      if (bytesToBigIntLE(ticket) <= threshold) winners.push({ ti, tj, ticket });
    }
  }
  const macs = BigInt(m) * BigInt(n) * BigInt(foldedDepth(k, r));
  const run: LotteryRun = { seeds, threshold, states, tickets, winners, macs };
  if (input.recover === true) run.product = recoverProduct(acc, A, BF, e, f, m, k, n);
  return run;
}

// ---------------------------------------------------------------------------
// Exact recovery

/**
 * AB = C′ − (A·F_L)·F_R − E_L·(E_R·(B+F)), in O(mk + kn + 2mnr).
 *
 * int32 suffices at every step (k ≤ 2^16, |A|,|B| ≤ 64, |E_L|,|F_R| ≤ 32, |B+F| ≤ 127):
 * - P = A·F_L (m×r): each t adds ±A[i][t] to two different entries, |P| ≤ 64k ≤ 2^22.
 * - X = P·F_R: any partial sum over c equals Σ_t A[i][t]·(±F_R[c_t][j] ± F_R[d_t][j])
 *   restricted to the c seen so far, so |partial| ≤ 64·64·k ≤ 2^28.
 * - Q = E_R·(B+F) (r×n): |Q| ≤ 127k ≤ 2^23.
 * - Y = E_L·Q: likewise |partial| ≤ 127·64·k < 2^29.
 * - C′ − X = AB + E(B+F): |·| ≤ (64·64 + 63·127)·k < 2^30; the result |AB| ≤ 2^28.
 */
function recoverProduct(
  C: Int32Array,
  A: Int8Array,
  BF: Int8Array,
  e: LowRankNoise,
  f: LowRankNoise,
  m: number,
  k: number,
  n: number,
): Int32Array {
  const r = e.rank;
  // P = A·F_L; F_L's row t is +1 at f.plus[t], −1 at f.minus[t].
  const P = new Int32Array(m * r);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < k; t++) {
      const a = A[i * k + t]!;
      P[i * r + f.plus[t]!] += a;
      P[i * r + f.minus[t]!] -= a;
    }
  }
  // Qᵀ (n×r) = (E_R·(B+F))ᵀ; E_R's column t is +1 at e.plus[t], −1 at e.minus[t].
  const QT = new Int32Array(n * r);
  for (let t = 0; t < k; t++) {
    const p = e.plus[t]!;
    const q = e.minus[t]!;
    for (let j = 0; j < n; j++) {
      const b = BF[t * n + j]!;
      QT[j * r + p] += b;
      QT[j * r + q] -= b;
    }
  }
  const out = new Int32Array(m * n);
  const FRT = f.dense; // row j = column j of F_R
  const EL = e.dense;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let x = 0;
      let y = 0;
      for (let c = 0; c < r; c++) {
        x += P[i * r + c]! * FRT[j * r + c]!;
        y += EL[i * r + c]! * QT[j * r + c]!;
      }
      out[i * n + j] = C[i * n + j]! - x - y;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Commitments and openings

/** Leaf data of one line (a row of A or a column of B): u32le index ‖ u32le length ‖ int8 bytes. */
export function matrixLeaf(index: number, line: Int8Array): Uint8Array {
  if (!(line instanceof Int8Array)) throw new TypeError('line must be an Int8Array');
  const out = new Uint8Array(8 + line.length);
  out.set(u32le(index, line.length), 0);
  out.set(new Uint8Array(line.buffer, line.byteOffset, line.length), 8);
  return out;
}

function checkMatrix(M: Int8Array, rows: number, cols: number): void {
  if (!(M instanceof Int8Array)) throw new TypeError('matrix must be an Int8Array');
  if (!Number.isInteger(rows) || rows < 1 || rows > U32_MAX || !Number.isInteger(cols) || cols < 1 || cols > U32_MAX) {
    throw new RangeError(`bad matrix shape ${rows}×${cols}`);
  }
  if (M.length !== rows * cols) throw new RangeError(`matrix holds ${M.length} entries, not ${rows}×${cols}`);
}

function row(M: Int8Array, cols: number, i: number): Int8Array {
  return M.subarray(i * cols, (i + 1) * cols);
}

function column(M: Int8Array, rows: number, cols: number, j: number): Int8Array {
  const out = new Int8Array(rows);
  for (let t = 0; t < rows; t++) out[t] = M[t * cols + j]!;
  return out;
}

function lineLevels(count: number, lineAt: (i: number) => Int8Array): Uint8Array[][] {
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < count; i++) hashes.push(leafHash(matrixLeaf(i, lineAt(i))));
  return merkleLevels(hashes);
}

/** Merkle root (RFC 6962, core/merkle.ts) over the rows of M (rows×cols), one leaf per row. */
export function commitRows(M: Int8Array, rows: number, cols: number): Uint8Array {
  checkMatrix(M, rows, cols);
  const levels = lineLevels(rows, (i) => row(M, cols, i));
  return levels[levels.length - 1]![0]!;
}

/** Merkle root over the columns of M (rows×cols): the rows of Mᵀ. B is committed this way. */
export function commitColumns(M: Int8Array, rows: number, cols: number): Uint8Array {
  checkMatrix(M, rows, cols);
  const levels = lineLevels(cols, (j) => column(M, rows, cols, j));
  return levels[levels.length - 1]![0]!;
}

export interface LineOpening {
  /** The opened lines, one after another (indices.length × line length). */
  lines: Int8Array;
  /** One audit path per opened line. */
  proofs: Uint8Array[][];
}

function openLines(count: number, length: number, lineAt: (i: number) => Int8Array, indices: readonly number[]): LineOpening {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`line ${i} outside 0..${count - 1}`);
  }
  const levels = lineLevels(count, lineAt);
  const lines = new Int8Array(indices.length * length);
  indices.forEach((i, x) => lines.set(lineAt(i), x * length));
  return { lines, proofs: indices.map((i) => auditPath(levels, i)) };
}

/** Rows `indices` of M with their proofs against `commitRows(M, rows, cols)`. */
export function openRows(M: Int8Array, rows: number, cols: number, indices: readonly number[]): LineOpening {
  checkMatrix(M, rows, cols);
  return openLines(rows, cols, (i) => row(M, cols, i), indices);
}

/** Columns `indices` of M (each as `rows` contiguous entries) with proofs against `commitColumns`. */
export function openColumns(M: Int8Array, rows: number, cols: number, indices: readonly number[]): LineOpening {
  checkMatrix(M, rows, cols);
  return openLines(cols, rows, (j) => column(M, rows, cols, j), indices);
}

/** What a block carries for its winning tile. */
export interface TileOpening {
  ti: number;
  tj: number;
  /** Rows ti·h .. ti·h + h − 1 of A (h×k, row-major). */
  rowsOfA: Int8Array;
  /** Columns tj·w .. tj·w + w − 1 of B, each as k contiguous entries (w×k). */
  colsOfB: Int8Array;
  proofsA: Uint8Array[][];
  proofsB: Uint8Array[][];
}

const range = (start: number, count: number) => Array.from({ length: count }, (_, x) => start + x);

/** The opening of tile (ti, tj) of A·B. */
export function openTile(input: {
  A: Int8Array;
  B: Int8Array;
  m: number;
  k: number;
  n: number;
  config: LotteryParams;
  ti: number;
  tj: number;
}): TileOpening {
  const { A, B, m, k, n, config, ti, tj } = input;
  assertDims(m, k, n, config);
  const { tileRows: h, tileCols: w } = config;
  if (!Number.isInteger(ti) || ti < 0 || ti >= m / h || !Number.isInteger(tj) || tj < 0 || tj >= n / w) {
    throw new RangeError(`tile (${ti}, ${tj}) outside the ${m / h}×${n / w} grid`);
  }
  const a = openRows(A, m, k, range(ti * h, h));
  const b = openColumns(B, k, n, range(tj * w, w));
  return { ti, tj, rowsOfA: a.lines, colsOfB: b.lines, proofsA: a.proofs, proofsB: b.proofs };
}

export interface VerifyTileInput extends TileOpening {
  /** The task: its commitments and shape. */
  commitA: Uint8Array;
  commitB: Uint8Array;
  m: number;
  k: number;
  n: number;
  config: LotteryParams;
  /** The block's header with its nonce zeroed. */
  headerNoNonce: Uint8Array;
  target: bigint;
}

function isProofList(p: unknown, count: number): p is Uint8Array[][] {
  return Array.isArray(p) && p.length === count && p.every((x) => Array.isArray(x));
}

/** What a tile check needs once the openings are accepted: the tile's noisy lines and the ticket inputs. */
export interface CheckedTile {
  /** The tile's h rows of A + E (h×k) and w columns of B + F (w×k, each column contiguous). */
  AE: Int8Array;
  BFT: Int8Array;
  seedA: Uint8Array;
  threshold: bigint;
}

/**
 * Checks a winning tile in O((h+w)·k) hashing and noise plus the tile's h·w·k
 * multiply-adds: the opened lines prove against the task's commitments, their
 * entries are task entries, and the recomputed ticket meets the threshold.
 * Returns the ticket.
 */
export function verifyTile(input: VerifyTileInput): Result<{ ticket: Uint8Array }, RejectCode> {
  const checked = checkTileOpening(input);
  if (!checked.ok) return checked;
  const { rank, tileRows: h, tileCols: w } = input.config;
  return finishTileCheck(input, checked.value, tileState(checked.value.AE, checked.value.BFT, h, w, input.k, rank));
}

/** The ticket of a checked tile from its folded state, and the threshold test (`lottery-high-ticket`). */
export function finishTileCheck(input: Pick<VerifyTileInput, 'ti' | 'tj'>, tile: CheckedTile, state: Uint32Array): Result<{ ticket: Uint8Array }, RejectCode> {
  const ticket = tileTicket(tile.seedA, input.ti, input.tj, state);
  if (bytesToBigIntLE(ticket) > tile.threshold) {
    return fail('lottery-high-ticket', `tile (${input.ti}, ${input.tj}) ticket above the threshold`);
  }
  return ok({ ticket });
}

/**
 * Everything of `verifyTile` but the tile product: shapes, openings against
 * the commitments, entry bounds, then this tile's noise only. A kernel then
 * folds the tile (`tileState`) and `finishTileCheck` tests the ticket.
 */
export function checkTileOpening(input: VerifyTileInput): Result<CheckedTile, RejectCode> {
  const { m, k, n, config, ti, tj, rowsOfA, colsOfB, proofsA, proofsB } = input;
  // Shapes first: everything below indexes by them.
  const problem = lotteryDimsProblem(m, k, n, config);
  if (problem !== null) return fail('lottery-bad-dims', problem);
  const { rank: r, tileRows: h, tileCols: w } = config;
  if (!Number.isInteger(ti) || ti < 0 || ti >= m / h || !Number.isInteger(tj) || tj < 0 || tj >= n / w) {
    return fail('lottery-bad-dims', `tile (${ti}, ${tj}) outside the ${m / h}×${n / w} grid`);
  }
  if (!(rowsOfA instanceof Int8Array) || rowsOfA.length !== h * k || !(colsOfB instanceof Int8Array) || colsOfB.length !== w * k) {
    return fail('lottery-bad-dims', `opened lines must be ${h}×${k} of A and ${w}×${k} of B`);
  }
  if (!isProofList(proofsA, h) || !isProofList(proofsB, w)) {
    return fail('lottery-bad-dims', `need ${h} proofs for A and ${w} for B`);
  }
  // Openings: the lines are the task's, at the tile's indices.
  for (let i = 0; i < h; i++) {
    const index = ti * h + i;
    if (!verifyLeaf(matrixLeaf(index, row(rowsOfA, k, i)), index, m, proofsA[i]!, input.commitA)) {
      return fail('lottery-bad-opening', `row ${index} of A does not prove`);
    }
  }
  for (let j = 0; j < w; j++) {
    const index = tj * w + j;
    if (!verifyLeaf(matrixLeaf(index, row(colsOfB, k, j)), index, n, proofsB[j]!, input.commitB)) {
      return fail('lottery-bad-opening', `column ${index} of B does not prove`);
    }
  }
  // Entries: keeps A+E and B+F within int8 (a task with wider entries can never win).
  for (const [lines, what] of [
    [rowsOfA, 'A'],
    [colsOfB, 'B'],
  ] as const) {
    for (let x = 0; x < lines.length; x++) {
      if (lines[x]! < -ENTRY_BOUND || lines[x]! > ENTRY_BOUND) return fail('lottery-bad-entry', `${what} entry ${lines[x]} outside [−64, 64]`);
    }
  }
  // Regenerate only this tile's noise.
  const seeds = lotterySeeds(input);
  return ok({
    AE: addNoise(rowsOfA, noiseE(seeds.seedA, k, r, ti * h, h), k),
    BFT: addNoise(colsOfB, noiseF(seeds.seedB, k, r, tj * w, w), k),
    seedA: seeds.seedA,
    threshold: ticketThreshold(input.target, config, k),
  });
}
