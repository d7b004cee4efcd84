/**
 * Runs SHA-256d scans on several threads for any backend: the native addon
 * threads by itself; WASM and JS get one worker thread each, with a backend
 * instance of their own, and a scan's nonce range is split between them.
 * Lottery runs go to the native addon's threads, or to the first worker.
 *
 * Workers run the compiled `dist/platform/node/kernel-worker.js`, so the package must be
 * built (npm install and npm test do it).
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BackendName, KernelBackend, LotteryJob, LotteryResult, Sha256dScanJob, Sha256dScanResult } from '../../core/kernel.js';
import { PouwError } from '../../core/errors.js';

export interface ScanPool {
  readonly threads: number;
  readonly impl: string;
  /** The lottery kernel in use (capabilities.lottery). */
  readonly lotteryImpl: string;
  scan(job: Omit<Sha256dScanJob, 'threads'>): Promise<Sha256dScanResult>;
  /** One int8 matmul lottery run (the native addon threads it; WASM and JS run it on one worker). */
  lottery(job: Omit<LotteryJob, 'threads'>): Promise<LotteryResult>;
  close(): Promise<void>;
}

/** A pool that calls the backend directly: the native addon threads by itself; others run on the calling thread. */
export function directPool(backend: KernelBackend, threads: number): ScanPool {
  return {
    threads,
    impl: backend.capabilities.sha256d,
    lotteryImpl: backend.capabilities.lottery,
    scan: (job) => backend.sha256dScan({ ...job, threads }),
    lottery: (job) => backend.lottery({ ...job, threads }),
    close: () => backend.close(),
  };
}

interface Pending {
  resolve: (r: any) => void;
  reject: (e: Error) => void;
}

/** A pool of `threads` worker threads, each with its own `backend` instance. */
export async function workerPool(root: string, backend: BackendName, threads: number): Promise<ScanPool> {
  const script = join(root, 'dist', 'platform', 'node', 'kernel-worker.js');
  if (!existsSync(script)) throw new PouwError('not-built', `${script} is missing: run npm run build`);
  const pending = new Map<number, Pending>();
  let nextId = 1;
  const workers = await Promise.all(
    Array.from({ length: threads }, async () => {
      const w = new Worker(script);
      const impl = await new Promise<{ sha256d: string; lottery: string }>((resolve, reject) => {
        w.once('message', (m: { ready: boolean; impl?: { sha256d: string; lottery: string }; error?: string }) =>
          m.ready ? resolve(m.impl!) : reject(new PouwError('backend-unavailable', m.error ?? 'worker failed')),
        );
        w.once('error', reject);
        w.postMessage({ init: { root, backend } });
      });
      w.on('message', (m: { id: number; result?: unknown; error?: string }) => {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.error) p.reject(new Error(m.error));
        else p.resolve(m.result!);
      });
      w.on('error', (e) => {
        for (const p of pending.values()) p.reject(e);
        pending.clear();
      });
      return { w, impl };
    }),
  );
  const run = (w: Worker, job: Sha256dScanJob) =>
    new Promise<Sha256dScanResult>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, job });
    });
  return {
    threads,
    impl: workers[0]!.impl.sha256d,
    lotteryImpl: workers[0]!.impl.lottery,
    lottery: (lottery) =>
      new Promise<LotteryResult>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        workers[0]!.w.postMessage({ id, lottery });
      }),
    async scan(job) {
      const n = BigInt(workers.length);
      const per = job.count / n;
      const extra = job.count % n;
      const space = 1n << BigInt(8 * job.nonceWidth);
      let offset = 0n;
      const parts = workers.map(({ w }, i) => {
        const count = per + (BigInt(i) < extra ? 1n : 0n);
        const start = (job.start + offset) % space;
        offset += count;
        return run(w, { ...job, start, count });
      });
      const results = await Promise.all(parts);
      const maxFound = job.maxFound ?? 16;
      return {
        found: results.flatMap((r) => r.found).slice(0, maxFound),
        hashesDone: results.reduce((s, r) => s + r.hashesDone, 0n),
      };
    },
    async close() {
      await Promise.all(workers.map(({ w }) => w.terminate()));
    },
  };
}
