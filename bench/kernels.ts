/**
 * Kernel benchmarks behind `pouw bench` and `npm run bench`.
 *
 * Every figure is measured beside a reference in the same process and run:
 * SHA-256d against Node's crypto (OpenSSL), GEMM and the lottery against the
 * CPU's own int8 peak and the same backend's plain GEMM. Before timing
 * anything, each backend must reproduce the stored checksum of every integer
 * kernel on fixed inputs (bench/checksums.json), so a fast but wrong kernel is
 * reported as wrong, not fast.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { concatBytes, devnetSpec, sha256, utf8ToBytes, toHex } from '../core/index.js';
import type { BackendName, KernelBackend, Sha256dScanJob } from '../core/kernel.js';
import { directPool, workerPool, type ScanPool } from '../platform/node/kernel-pool.js';
import type { SectorParams } from '../core/params.js';
import { backendCandidates } from '../platform/node/kernels.js';
import { measurePeaks, peakFor, type PeakFigure } from './peak.js';

export interface BenchOptions {
  root: string;
  backends: BackendName[];
  /** Sectors whose lottery parameters are measured. */
  sectors: readonly SectorParams[];
  threads: number;
  /** Target duration of each timed measurement. */
  seconds: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface Sha256dFigures {
  impl: string;
  oneThreadHps: number;
  threads: number;
  allThreadsHps: number;
  /** allThreadsHps / oneThreadHps. */
  scaling: number;
  /** oneThreadHps / OpenSSL SHA-256d rate (one createHash per hash) measured in the same run. */
  vsOpenssl: number;
  /** oneThreadHps / OpenSSL bulk compression rate as midstate SHA-256d, same run. */
  vsOpensslBulk: number;
}

export interface GemmFigures {
  impl: string;
  /** Square size m = k = n measured (smaller for slow backends). */
  size: number;
  /** Multiply-adds per second, 1 thread (GOP/s counting 2 ops per multiply-add is twice this). */
  macsPerSecond: number;
}

export interface LotteryFigures {
  sector: string;
  impl: string;
  /** m = n = size, k = depth. */
  size: number;
  depth: number;
  rank: number;
  tile: string;
  /** Folded multiply-adds per second (m·n·k′), 1 thread, tickets included, no recovery. */
  macsPerSecond: number;
  /** Against the peak of the unit the implementation uses (see peakUnit), same backend and run. */
  vsPeak?: number;
  peakUnit?: string;
  /** The same backend's plain int8 GEMM of the same size (its lottery microkernel when it has one). */
  plainMacsPerSecond: number;
  /** lottery time / plain GEMM time. */
  overhead: number;
}

export interface BackendReport {
  backend: BackendName;
  available: boolean;
  reason?: string;
  checksum?: { ok: boolean; got: string; want: string };
  sha256d?: Sha256dFigures;
  /** The int8 ceilings of this backend's units on one thread (bench/peak.ts), when it has probes. */
  peaksI8?: PeakFigure[];
  gemmI8?: GemmFigures & { vsPeak?: number; peakUnit?: string };
  gemmF32?: GemmFigures;
  lottery?: LotteryFigures[];
}

export interface BenchReport {
  machine: { cpu: string; cores: number; node: string; platform: string };
  references: {
    opensslSha256dHps: number;
    opensslBulkSha256dHps: number;
  };
  backends: BackendReport[];
}

/** The fixed checksum workload: 2^16 nonces of a 104-byte header, one hash in 256 wins. */
export function checksumJob(): Sha256dScanJob {
  return {
    header: Uint8Array.from([...sha256(utf8ToBytes('pouw bench header a')), ...sha256(utf8ToBytes('pouw bench header b')), ...sha256(utf8ToBytes('pouw bench header c')), ...new Uint8Array(8)]),
    nonceOffset: 96,
    nonceWidth: 8,
    target: (1n << 248n) - 1n,
    start: 1n << 33n,
    count: 1n << 16n,
    maxFound: 4096,
  };
}

/** SHA-256 over the found nonces (u64 LE) and the hash count. */
export function checksumOf(found: bigint[], hashesDone: bigint): string {
  const bytes = new Uint8Array(8 * (found.length + 1));
  const v = new DataView(bytes.buffer);
  found.forEach((n, i) => v.setBigUint64(8 * i, n, true));
  v.setBigUint64(8 * found.length, hashesDone, true);
  return toHex(sha256(bytes));
}

/**
 * Checksum of every integer kernel on fixed inputs: the SHA-256d scan above,
 * an int8 GEMM, a lottery per default sector's parameters (tickets, winners and
 * the recovered product), both matrix commitments and Freivalds' verdicts.
 * Float32 GEMM is left out: its rounding legitimately differs across backends.
 */
export async function kernelsChecksum(backend: KernelBackend): Promise<string> {
  const parts: Uint8Array[] = [];
  const bytesOf = (a: Int32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const scan = await backend.sha256dScan(checksumJob());
  parts.push(utf8ToBytes(checksumOf(scan.found, scan.hashesDone)));
  let x = 7;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) % 129;
  const matrix = (n: number) => Int8Array.from({ length: n }, () => next() - 64);
  const A = matrix(64 * 96);
  const B = matrix(96 * 80);
  const C = await backend.gemmI8(A, B, { m: 64, k: 96, n: 80 });
  parts.push(bytesOf(C));
  parts.push(await backend.commitLines(A, 64, 96, false), await backend.commitLines(B, 96, 80, true));
  const bad = C.slice();
  bad[77] = bad[77]! + 1;
  const seed = sha256(utf8ToBytes('bench freivalds'));
  const verdicts = [await backend.freivalds(A, B, C, { m: 64, k: 96, n: 80 }, seed, 2), await backend.freivalds(A, B, bad, { m: 64, k: 96, n: 80 }, seed, 2)];
  parts.push(Uint8Array.from(verdicts.map(Number)));
  for (const sector of devnetSpec().sectors) {
    const { rank, tileRows, tileCols } = sector.lottery;
    const m = 2 * tileRows;
    const n = 2 * tileCols;
    const k = 2 * rank + 5;
    const r = await backend.lottery({
      A: matrix(m * k),
      B: matrix(k * n),
      m,
      k,
      n,
      config: { rank, tileRows, tileCols },
      seedA: sha256(utf8ToBytes(`bench ${sector.slug} A`)),
      seedB: sha256(utf8ToBytes(`bench ${sector.slug} B`)),
      threshold: 1n << 255n,
      recover: true,
    });
    parts.push(r.tickets, Uint8Array.from(r.winners), bytesOf(r.product!));
  }
  return toHex(sha256(concatBytes(...parts)));
}

export function storedChecksums(root: string): { sha256d: string; kernels: string } {
  return JSON.parse(readFileSync(join(root, 'bench', 'checksums.json'), 'utf8'));
}

/** Node's crypto (OpenSSL) SHA-256d of the same 104-byte header, one thread. */
export function opensslSha256dRate(seconds: number): number {
  const header = Buffer.from(checksumJob().header);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let i = 0; i < 4096; i++) {
      header.writeUInt32LE(n++ >>> 0, 96);
      createHash('sha256').update(createHash('sha256').update(header).digest()).digest();
    }
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

/**
 * OpenSSL's SHA-256 compression rate on bulk data, expressed as SHA-256d of a
 * header from a midstate (two compressions each): the fair ceiling for a
 * one-lane scalar kernel, without the per-call overhead of createHash.
 */
export function opensslBulkSha256dRate(seconds: number): number {
  const chunk = Buffer.alloc(1 << 20, 7);
  let bytes = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    const h = createHash('sha256');
    for (let i = 0; i < 16; i++) h.update(chunk);
    h.digest();
    bytes += 16 * chunk.length;
    t = performance.now();
  }
  return bytes / 64 / 2 / ((t - t0) / 1000);
}

/** Hashes per second of `pool`, scanning an impossible target for about `seconds`. */
async function scanRate(pool: ScanPool, seconds: number): Promise<number> {
  const job = { ...checksumJob(), target: 0n, maxFound: 1 };
  // Calibrate on a short run, then time one run sized to the target duration.
  let count = 1n << 12n;
  for (;;) {
    const t0 = performance.now();
    await pool.scan({ ...job, count });
    const ms = performance.now() - t0;
    if (ms > 50) {
      count = BigInt(Math.max(1, Math.round((Number(count) * seconds * 1000) / ms)));
      break;
    }
    count *= 4n;
  }
  const t0 = performance.now();
  const r = await pool.scan({ ...job, count });
  return Number(r.hashesDone) / ((performance.now() - t0) / 1000);
}

/** GEMM sizes per backend: large enough to be compute-bound, small enough for the slow ones. */
const GEMM_SIZE: Record<BackendName, number> = { native: 1024, wasm: 512, js: 128 };

/** Best-of rate of `run` (which does `work` multiply-adds), repeated for about `seconds`. */
async function bestRate(work: number, seconds: number, run: () => Promise<unknown>): Promise<number> {
  let best = 0;
  const t0 = performance.now();
  do {
    const t = performance.now();
    await run();
    best = Math.max(best, work / ((performance.now() - t) / 1000));
  } while (performance.now() - t0 < seconds * 1000);
  return best;
}

function gemmOperands(size: number) {
  let x = 12345;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const i8 = () => Int8Array.from({ length: size * size }, () => (next() % 129) - 64);
  const f32 = () => Float32Array.from({ length: size * size }, () => next() / 128 - 1);
  return { A8: i8(), B8: i8(), Af: f32(), Bf: f32() };
}

/**
 * Lottery shapes per backend: m = n = size, k = depth. The native one is the
 * issue's overhead case (k = 4096 with the sector's rank); slower backends use
 * smaller problems so a run stays short.
 */
const LOTTERY_SHAPE: Record<BackendName, { size: number; depth: number }> = {
  native: { size: 512, depth: 4096 },
  wasm: { size: 256, depth: 1024 },
  js: { size: 128, depth: 256 },
};

async function lotteryFigures(backend: KernelBackend, sector: SectorParams, seconds: number): Promise<LotteryFigures> {
  const { size, depth } = LOTTERY_SHAPE[backend.name];
  const { rank, tileRows, tileCols } = sector.lottery;
  let x = 99;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) % 129;
  const A = Int8Array.from({ length: size * depth }, () => next() - 64);
  const B = Int8Array.from({ length: depth * size }, () => next() - 64);
  const job = {
    A,
    B,
    m: size,
    k: depth,
    n: size,
    config: { rank, tileRows, tileCols },
    seedA: sha256(utf8ToBytes('bench seed A')),
    seedB: sha256(utf8ToBytes('bench seed B')),
    threshold: 0n,
  };
  const folded = size * size * (depth - (depth % rank));
  const dims = { m: size, k: depth, n: size };
  const plain = backend.lotteryPlainGemm ? () => backend.lotteryPlainGemm!(A, B, dims) : () => backend.gemmI8(A, B, dims);
  // Interleave the two so both see the same machine state.
  let lottery = 0;
  let gemm = 0;
  const t0 = performance.now();
  do {
    lottery = Math.max(lottery, await bestRate(folded, 0, () => backend.lottery(job)));
    gemm = Math.max(gemm, await bestRate(size * size * depth, 0, plain));
  } while (performance.now() - t0 < seconds * 1000);
  return {
    sector: sector.slug,
    impl: backend.capabilities.lottery,
    size,
    depth,
    rank,
    tile: `${tileRows}×${tileCols}`,
    macsPerSecond: lottery,
    plainMacsPerSecond: gemm,
    // Time of one lottery run over time of one plain GEMM of the same operands.
    overhead: folded / lottery / ((size * size * depth) / gemm),
  };
}

async function poolFor(root: string, backend: KernelBackend, threads: number): Promise<ScanPool> {
  return backend.name === 'native' ? directPool(backend, threads) : workerPool(root, backend.name, threads);
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const total = 1 + opts.backends.length * (6 + opts.sectors.length);
  let done = 0;
  const step = (label: string) => opts.onProgress?.(++done, total, label);
  const want = storedChecksums(opts.root).kernels;
  step('reference: OpenSSL SHA-256d, 1 thread');
  const openssl = opensslSha256dRate(opts.seconds);
  const opensslBulk = opensslBulkSha256dRate(opts.seconds);
  const reports: BackendReport[] = [];
  const candidates = backendCandidates(opts.root);
  for (const name of opts.backends) {
    const c = candidates.find((x) => x.name === name)!;
    let backend: KernelBackend;
    try {
      backend = await c.load();
    } catch (e) {
      reports.push({ backend: name, available: false, reason: (e as Error).message });
      done += 6 + opts.sectors.length;
      continue;
    }
    step(`${name}: checksum of every integer kernel on fixed inputs`);
    const got = await kernelsChecksum(backend);
    const report: BackendReport = { backend: name, available: true, checksum: { ok: got === want, got, want } };
    reports.push(report);
    if (got !== want) {
      done += 5 + opts.sectors.length;
      continue;
    }
    step(`${name}: SHA-256d, 1 thread`);
    const one = await poolFor(opts.root, backend, 1);
    const oneThreadHps = await scanRate(one, opts.seconds);
    if (backend.name !== 'native') await one.close();
    step(`${name}: SHA-256d, ${opts.threads} threads`);
    const all = await poolFor(opts.root, backend, opts.threads);
    const allThreadsHps = await scanRate(all, opts.seconds);
    await all.close();
    report.sha256d = {
      impl: backend.capabilities.sha256d,
      oneThreadHps,
      threads: opts.threads,
      allThreadsHps,
      scaling: allThreadsHps / oneThreadHps,
      vsOpenssl: oneThreadHps / openssl,
      vsOpensslBulk: oneThreadHps / opensslBulk,
    };
    step(`${name}: int8 multiply-add peak per unit, 1 thread`);
    const probes = backend.peakProbes?.() ?? [];
    const peaks = probes.length ? measurePeaks(probes, opts.seconds) : [];
    if (peaks.length) report.peaksI8 = peaks;
    const held = (impl: string, rate: number) => {
      const p = peakFor(peaks, impl);
      return p ? { vsPeak: rate / p.macsPerSecond, peakUnit: p.unit } : {};
    };
    const size = GEMM_SIZE[name];
    const ops = gemmOperands(size);
    const dims = { m: size, k: size, n: size, threads: 1 };
    step(`${name}: int8 GEMM ${size}³, 1 thread`);
    const i8 = await bestRate(size ** 3, opts.seconds, () => backend.gemmI8(ops.A8, ops.B8, dims));
    report.gemmI8 = { impl: backend.capabilities.gemmI8, size, macsPerSecond: i8, ...held(backend.capabilities.gemmI8, i8) };
    step(`${name}: float32 GEMM ${size}³, 1 thread`);
    const f32 = await bestRate(size ** 3, opts.seconds, () => backend.gemmF32(ops.Af, ops.Bf, dims));
    report.gemmF32 = { impl: backend.capabilities.gemmF32, size, macsPerSecond: f32 };
    report.lottery = [];
    for (const sector of opts.sectors) {
      step(`${name}: ${sector.slug} lottery ${LOTTERY_SHAPE[name].size}²×${LOTTERY_SHAPE[name].depth}, 1 thread`);
      const figures = await lotteryFigures(backend, sector, opts.seconds);
      report.lottery.push({ ...figures, ...held(figures.impl, figures.macsPerSecond) });
    }
    await backend.close();
  }
  return {
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` },
    references: { opensslSha256dHps: openssl, opensslBulkSha256dHps: opensslBulk },
    backends: reports,
  };
}
