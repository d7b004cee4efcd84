/**
 * Loader of the native kernel addon (build/Release/pouw_native.node, built by
 * cmake-js on install). It turns the addon's functions into a KernelBackend;
 * a missing or broken addon throws an Error whose message says why, in words
 * a user can act on, and the selector falls back to WASM.
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { checkGemm, checkPeakIterations, checkScanJob, targetBytes, type GemmDims, type KernelBackend, type LotteryResult, type Sha256dScanResult } from '../core/kernel.js';

export const NATIVE_ADDON = 'build/Release/pouw_native.node';

interface Addon {
  sha256d(data: Uint8Array): Uint8Array;
  sha256dImpl(): string;
  sha256dSelect(name: string): boolean;
  sha256dScan(o: {
    header: Uint8Array;
    nonceOffset: number;
    nonceWidth: number;
    target: Uint8Array;
    start: bigint;
    count: bigint;
    threads: number;
    maxFound: number;
    stopOnFind: boolean;
    cancel?: Int32Array;
  }): Promise<Sha256dScanResult>;
  gemmI8(o: { A: Int8Array; B: Int8Array; m: number; k: number; n: number; threads: number }): Promise<Int32Array>;
  gemmF32(o: { A: Float32Array; B: Float32Array; m: number; k: number; n: number; threads: number }): Promise<Float32Array>;
  kernelImpls(): { sha256d: string; gemmI8: string; gemmF32: string; lottery: string };
  lottery(o: {
    A: Int8Array;
    B: Int8Array;
    m: number;
    k: number;
    n: number;
    rank: number;
    tileRows: number;
    tileCols: number;
    seedA: Uint8Array;
    seedB: Uint8Array;
    threshold: Uint8Array;
    recover: boolean;
    threads: number;
  }): Promise<LotteryResult>;
  lotteryPlainGemm(o: { A: Int8Array; B: Int8Array; m: number; k: number; n: number }): Promise<Int32Array>;
  tileState(o: { AE: Int8Array; BFT: Int8Array; h: number; w: number; k: number; rank: number }): Promise<Uint32Array>;
  peakProbes(): { index: number; unit: string; sequence: string }[];
  peakRun(index: number, iterations: number): number;
  commitLines(o: { M: Int8Array; rows: number; cols: number; byColumns: boolean }): Promise<Uint8Array>;
  freivalds(o: { A: Int8Array; B: Int8Array; C: Int32Array; m: number; k: number; n: number; seed: Uint8Array; rounds: number }): Promise<boolean>;
  cpuFeatures(): Record<string, boolean | number>;
  cudaDevices(): { compiled: boolean; count: number; name: string; error: string };
}

/** Loads the addon under `root` (the package root). */
export async function loadNative(root: string, options: { sha256dImpl?: string } = {}): Promise<KernelBackend> {
  const file = join(root, NATIVE_ADDON);
  if (!existsSync(file)) throw new Error(`not built (no ${NATIVE_ADDON}; see build/native-build.log, or run npm rebuild)`);
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    const msg = String((e as Error).message).split('\n')[0];
    const abi = /NODE_MODULE_VERSION|different Node/.test(msg) ? ` (built for another Node ABI than ${process.versions.modules}; run npm rebuild)` : '';
    throw new Error(`${NATIVE_ADDON} failed to load: ${msg}${abi}`);
  }
  if (options.sha256dImpl && !addon.sha256dSelect(options.sha256dImpl)) {
    throw new Error(`SHA-256d implementation "${options.sha256dImpl}" is not available on this CPU`);
  }
  const features = addon.cpuFeatures();
  const cuda = addon.cudaDevices();
  const threads = Number(features.threads) || 1;
  const impls = addon.kernelImpls();
  const clampThreads = (d: GemmDims) => Math.max(1, Math.min(d.threads ?? 1, 1024));
  return {
    name: 'native',
    capabilities: {
      sha256d: impls.sha256d,
      gemmI8: impls.gemmI8,
      gemmF32: impls.gemmF32,
      lottery: impls.lottery,
      maxThreads: threads,
      details: {
        ...features,
        cuda: cuda.compiled ? (cuda.count > 0 ? `${cuda.count} device(s): ${cuda.name}` : `no device (${cuda.error})`) : 'not built',
      },
    },
    sha256d: (data) => addon.sha256d(data),
    async sha256dScan(job) {
      checkScanJob(job);
      return addon.sha256dScan({
        header: job.header,
        nonceOffset: job.nonceOffset,
        nonceWidth: job.nonceWidth,
        target: targetBytes(job.target),
        start: job.start,
        count: job.count,
        threads: Math.max(1, Math.min(job.threads ?? 1, 1024)),
        maxFound: job.maxFound ?? 16,
        stopOnFind: job.stopOnFind ?? false,
        cancel: job.cancel,
      });
    },
    async gemmI8(A, B, dims) {
      checkGemm(A, B, dims);
      return addon.gemmI8({ A, B, m: dims.m, k: dims.k, n: dims.n, threads: clampThreads(dims) });
    },
    async gemmF32(A, B, dims) {
      checkGemm(A, B, dims);
      return addon.gemmF32({ A, B, m: dims.m, k: dims.k, n: dims.n, threads: clampThreads(dims) });
    },
    peakProbes: () =>
      addon.peakProbes().map((p) => ({
        unit: p.unit,
        sequence: p.sequence,
        run: (iterations: number) => {
          checkPeakIterations(iterations);
          return addon.peakRun(p.index, iterations);
        },
      })),
    lottery: (job) =>
      addon.lottery({
        A: job.A,
        B: job.B,
        m: job.m,
        k: job.k,
        n: job.n,
        rank: job.config.rank,
        tileRows: job.config.tileRows,
        tileCols: job.config.tileCols,
        seedA: job.seedA,
        seedB: job.seedB,
        threshold: targetBytes(job.threshold),
        recover: job.recover ?? false,
        threads: Math.max(1, Math.min(job.threads ?? 1, 1024)),
      }),
    lotteryPlainGemm: (A, B, dims) => {
      checkGemm(A, B, dims);
      return addon.lotteryPlainGemm({ A, B, m: dims.m, k: dims.k, n: dims.n });
    },
    tileState: (AE, BFT, shape) => addon.tileState({ AE, BFT, ...shape }),
    commitLines: (M, rows, cols, byColumns) => addon.commitLines({ M, rows, cols, byColumns }),
    freivalds: (A, B, C, { m, k, n }, seed, rounds) => addon.freivalds({ A, B, C, m, k, n, seed, rounds }),
    async close() {},
  };
}
