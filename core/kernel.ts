/**
 * The kernel interface every backend implements (native addon, WASM, the
 * pure-TypeScript reference here), and the choice among them.
 *
 * Backends differ in speed only: on integer work they must agree bit for bit
 * with the reference `jsBackend`, which is the oracle of the tests. Loading is
 * the platform's business (the native and WASM loaders live beside their
 * builds); choosing is pure and lives here, so every caller reports the same
 * reasons for skipping a faster backend.
 * @module
 */
import { bigIntToBytesLE, bytesToBigIntLE } from './bytes.js';
import { freivalds } from './freivalds.js';
import { sha256d as sha256dRef } from './hash.js';
import type { Result } from './errors.js';
import type { RejectCode } from './reject.js';
import {
  accumulateProduct,
  checkTileOpening,
  commitColumns,
  commitRows,
  finishTileCheck,
  runLotteryWithSeeds,
  tileState,
  type LotteryShape,
  type VerifyTileInput,
} from './lottery.js';

export type BackendName = 'native' | 'wasm' | 'js';

/** Selection order: fastest first. */
export const BACKEND_ORDER: readonly BackendName[] = ['native', 'wasm', 'js'];

export interface Sha256dScanJob {
  /** 80..128 bytes; the nonce field lies entirely after the first 64 bytes. */
  header: Uint8Array;
  nonceOffset: number;
  nonceWidth: 4 | 8;
  /** Hashes read as little-endian integers must be ≤ target. */
  target: bigint;
  /** First nonce tried; nonces wrap within the nonce width. */
  start: bigint;
  count: bigint;
  /** Stop at most after this many finds (default 16). */
  maxFound?: number;
  /** Stop the whole scan at the first find. */
  stopOnFind?: boolean;
  /** Threads to use where the backend has them (default 1). */
  threads?: number;
  /** Cancellation flag: set element 0 to non-zero to stop (ideally on a SharedArrayBuffer). */
  cancel?: Int32Array;
}

export interface Sha256dScanResult {
  /** Winning nonces in scan order. */
  found: bigint[];
  hashesDone: bigint;
}

export interface KernelCapabilities {
  /** Implementation of SHA-256d in use, e.g. "avx512-16x", "simd128-4x", "scalar". */
  sha256d: string;
  /** Implementations of the int8 and float32 GEMMs, e.g. "avx512-vnni", "simd128". */
  gemmI8: string;
  gemmF32: string;
  lottery: string;
  /** Threads a scan can use. */
  maxThreads: number;
  /** Free-form facts worth showing (CPU features, devices). */
  details: Record<string, string | number | boolean>;
}

export interface KernelBackend {
  readonly name: BackendName;
  readonly capabilities: KernelCapabilities;
  sha256d(data: Uint8Array): Uint8Array;
  sha256dScan(job: Sha256dScanJob): Promise<Sha256dScanResult>;
  /** C = A·B, A m×k and B k×n int8 row-major, exact int32 results. */
  gemmI8(A: Int8Array, B: Int8Array, dims: GemmDims): Promise<Int32Array>;
  /** C = A·B in float32 with the backend's natural summation order (results differ across backends by rounding). */
  gemmF32(A: Float32Array, B: Float32Array, dims: GemmDims): Promise<Float32Array>;
  /** The int8 matmul lottery from its seeds and threshold (core/lottery.ts is the specification). */
  lottery(job: LotteryJob): Promise<LotteryResult>;
  /** One lottery tile's folded state from its noisy lines (the verifier's product), as core/lottery.ts `tileState`. */
  tileState(AE: Int8Array, BFT: Int8Array, shape: TileShape): Promise<Uint32Array>;
  /** RFC 6962 root over the rows (or columns) of an int8 matrix, as core/lottery.ts commits tasks. */
  commitLines(M: Int8Array, rows: number, cols: number, byColumns: boolean): Promise<Uint8Array>;
  /** Freivalds' check that C = A·B, exactly as core/freivalds.ts. */
  freivalds(A: Int8Array, B: Int8Array, C: Int32Array, dims: GemmDims, seed: Uint8Array, rounds: number): Promise<boolean>;
  /** A plain int8 GEMM through the lottery's own packing and microkernel: the baseline of its overhead (bench only). */
  lotteryPlainGemm?(A: Int8Array, B: Int8Array, dims: GemmDims): Promise<Int32Array>;
  /**
   * The int8 multiply-add probes this backend can run here, one per instruction
   * sequence of a kernel unit (native/src/peak.h); none where no SIMD unit is known.
   * A unit's peak is the fastest of its probes (bench/peak.ts).
   */
  peakProbes?(): PeakProbe[];
  close(): Promise<void>;
}

/** One multiply-add instruction sequence a kernel unit issues, run on the calling thread. */
export interface PeakProbe {
  /** The kernel implementation it bounds, named as in `capabilities` ("avx512-vnni", "avx2", "simd128", ...). */
  unit: string;
  /** The instructions of one step, e.g. "vpdpbusd zmm (16 accumulators)". */
  sequence: string;
  /** Runs `iterations` rounds (an integer in [1, 2^32)); returns the multiply-adds done. The caller times it. */
  run(iterations: number): number;
}

export interface LotteryJob {
  /** m×k and k×n, row-major, entries in [−64, 64]. */
  A: Int8Array;
  B: Int8Array;
  m: number;
  k: number;
  n: number;
  config: LotteryShape;
  seedA: Uint8Array;
  seedB: Uint8Array;
  /** Highest winning ticket, read little-endian (`ticketThreshold`). */
  threshold: bigint;
  /** Also return the exact product AB. */
  recover?: boolean;
  /** Threads where the backend has them (default 1). */
  threads?: number;
}

export interface LotteryResult {
  /** 32 bytes per tile, tiles in row-major order (index = ti·(n/w) + tj). */
  tickets: Uint8Array;
  /** Indices of the winning tiles, increasing. */
  winners: number[];
  /** AB exactly (m×n), when `recover` was asked. */
  product?: Int32Array;
}

export interface TileShape {
  h: number;
  w: number;
  k: number;
  rank: number;
}

/**
 * `verifyTile` with the tile's product on `backend`: openings, entry bounds and
 * noise in core, the h·w·k multiply-adds in the kernel, then the ticket.
 */
export async function verifyTileWith(backend: KernelBackend, input: VerifyTileInput): Promise<Result<{ ticket: Uint8Array }, RejectCode>> {
  const checked = checkTileOpening(input);
  if (!checked.ok) return checked;
  const { AE, BFT } = checked.value;
  const state = await backend.tileState(AE, BFT, { h: input.config.tileRows, w: input.config.tileCols, k: input.k, rank: input.config.rank });
  return finishTileCheck(input, checked.value, state);
}

export interface GemmDims {
  m: number;
  k: number;
  n: number;
  /** Threads where the backend has them (default 1). */
  threads?: number;
}

/** Checks a peak probe's round count (`PeakProbe.run`): an integer in [1, 2^32). */
export function checkPeakIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations >= 2 ** 32) throw new RangeError(`iterations must be an integer within [1, 2^32), got ${iterations}`);
}

/** Checks GEMM operands; TypeError/RangeError for what no backend would accept. */
export function checkGemm(A: ArrayLike<number>, B: ArrayLike<number>, { m, k, n }: GemmDims): void {
  for (const [v, what] of [
    [m, 'm'],
    [k, 'k'],
    [n, 'n'],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 1 << 20) throw new RangeError(`${what} must be an integer in 1..2^20, got ${v}`);
  }
  if (A.length !== m * k) throw new RangeError(`A must hold m·k = ${m * k} entries, got ${A.length}`);
  if (B.length !== k * n) throw new RangeError(`B must hold k·n = ${k * n} entries, got ${B.length}`);
}

/** Reference int8 GEMM: plain triple loop, exact (|sums| < 2^31 for k ≤ 131072). */
export function gemmI8Reference(A: Int8Array, B: Int8Array, { m, k, n }: GemmDims): Int32Array {
  const C = new Int32Array(m * n);
  accumulateProduct(A, B, C, m, k, n, 0, k);
  return C;
}

/** Reference float32 GEMM: each C[i][j] summed in k order, rounded to float32 after every step. */
export function gemmF32Reference(A: Float32Array, B: Float32Array, { m, k, n }: GemmDims): Float32Array {
  const C = new Float32Array(m * n);
  const f = Math.fround;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = f(s + f(A[i * k + t]! * B[t * n + j]!));
      C[i * n + j] = s;
    }
  }
  return C;
}

/** How to try one backend: a loader that returns it or throws with a reason a user can act on. */
export interface BackendCandidate {
  name: BackendName;
  load: () => Promise<KernelBackend>;
}

export interface BackendChoice {
  backend: KernelBackend;
  /** Faster backends that were not used, and why. */
  skipped: { name: BackendName; reason: string }[];
}

/**
 * Tries candidates in `BACKEND_ORDER` (or only `forced`, e.g. from POUW_KERNEL)
 * and returns the first that loads, with the reasons the faster ones failed.
 */
export async function chooseBackend(candidates: readonly BackendCandidate[], forced?: string): Promise<BackendChoice> {
  if (forced !== undefined && !BACKEND_ORDER.includes(forced as BackendName)) {
    throw new RangeError(`unknown kernel backend "${forced}"; known: ${BACKEND_ORDER.join(', ')}`);
  }
  const ordered = [...candidates].sort((a, b) => BACKEND_ORDER.indexOf(a.name) - BACKEND_ORDER.indexOf(b.name));
  const skipped: BackendChoice['skipped'] = [];
  for (const c of ordered) {
    if (forced !== undefined && c.name !== forced) {
      if (BACKEND_ORDER.indexOf(c.name) < BACKEND_ORDER.indexOf(forced as BackendName)) {
        skipped.push({ name: c.name, reason: `not selected (POUW_KERNEL=${forced})` });
      }
      continue;
    }
    try {
      return { backend: await c.load(), skipped };
    } catch (e) {
      skipped.push({ name: c.name, reason: (e as Error).message });
    }
  }
  throw new Error(`no kernel backend could be loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** Checks a scan job; RangeError/TypeError for what no backend would accept. */
export function checkScanJob(job: Sha256dScanJob): void {
  const { header, nonceOffset, nonceWidth, target, start, count } = job;
  if (!(header instanceof Uint8Array)) throw new TypeError('header must be a Uint8Array');
  if (header.length < 80 || header.length > 128) throw new RangeError('header must be 80..128 bytes');
  if (nonceWidth !== 4 && nonceWidth !== 8) throw new RangeError('nonce width must be 4 or 8');
  if (!Number.isInteger(nonceOffset) || nonceOffset < 64 || nonceOffset + nonceWidth > header.length) {
    throw new RangeError('the nonce field must lie after the first 64 bytes and inside the header');
  }
  if (typeof target !== 'bigint' || target < 0n || target >= 1n << 256n) throw new RangeError('target must be a 256-bit bigint');
  if (typeof start !== 'bigint' || start < 0n || typeof count !== 'bigint' || count < 0n) {
    throw new RangeError('start and count must be non-negative bigints');
  }
}

/** The 32-byte little-endian form of a target, as the native and WASM kernels take it. */
export function targetBytes(target: bigint): Uint8Array {
  return bigIntToBytesLE(target, 32);
}

function writeNonce(buf: Uint8Array, offset: number, width: number, nonce: bigint): void {
  for (let i = 0; i < width; i++) buf[offset + i] = Number((nonce >> BigInt(8 * i)) & 0xffn);
}

/**
 * The reference backend: one SHA-256d per nonce with @noble/hashes. Slow
 * (a few hundred thousand hashes per second) and single-threaded, but its
 * answers define what the fast backends must return.
 */
export function jsBackend(): KernelBackend {
  return {
    name: 'js',
    capabilities: {
      sha256d: 'scalar (reference)',
      gemmI8: 'scalar (reference)',
      gemmF32: 'scalar (reference)',
      lottery: 'scalar (reference)',
      maxThreads: 1,
      details: {},
    },
    sha256d: sha256dRef,
    async sha256dScan(job) {
      checkScanJob(job);
      const buf = Uint8Array.from(job.header);
      const maxFound = job.maxFound ?? 16;
      const space = 1n << BigInt(8 * job.nonceWidth);
      const found: bigint[] = [];
      let done = 0n;
      for (let i = 0n; i < job.count; i++) {
        if ((i & 0xfffn) === 0n && job.cancel && job.cancel[0] !== 0) break;
        const nonce = (job.start + i) % space;
        writeNonce(buf, job.nonceOffset, job.nonceWidth, nonce);
        done++;
        if (bytesToBigIntLE(sha256dRef(buf)) <= job.target) {
          if (found.length < maxFound) found.push(nonce);
          if (job.stopOnFind) break;
        }
      }
      return { found, hashesDone: done };
    },
    async gemmI8(A, B, dims) {
      checkGemm(A, B, dims);
      return gemmI8Reference(A, B, dims);
    },
    async gemmF32(A, B, dims) {
      checkGemm(A, B, dims);
      return gemmF32Reference(A, B, dims);
    },
    async lottery(job) {
      const run = runLotteryWithSeeds({
        A: job.A,
        B: job.B,
        m: job.m,
        k: job.k,
        n: job.n,
        config: { rank: job.config.rank, tileRows: job.config.tileRows, tileCols: job.config.tileCols },
        seeds: { seedA: job.seedA, seedB: job.seedB },
        threshold: job.threshold,
        recover: job.recover,
      });
      const tickets = new Uint8Array(32 * run.tickets.length);
      run.tickets.forEach((t, i) => tickets.set(t, 32 * i));
      const across = job.n / job.config.tileCols;
      return {
        tickets,
        winners: run.winners.map((w) => w.ti * across + w.tj),
        ...(run.product ? { product: run.product } : {}),
      };
    },
    async tileState(AE, BFT, { h, w, k, rank }) {
      return tileState(AE, BFT, h, w, k, rank);
    },
    async commitLines(M, rows, cols, byColumns) {
      return byColumns ? commitColumns(M, rows, cols) : commitRows(M, rows, cols);
    },
    async freivalds(A, B, C, { m, k, n }, seed, rounds) {
      return freivalds(A, B, C, m, k, n, seed, rounds);
    },
    async close() {},
  };
}
