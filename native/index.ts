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
import { checkScanJob, targetBytes, type KernelBackend, type Sha256dScanResult } from '../core/kernel.js';

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
  return {
    name: 'native',
    capabilities: {
      sha256d: addon.sha256dImpl(),
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
    async close() {},
  };
}
