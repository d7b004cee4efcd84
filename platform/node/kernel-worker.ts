/**
 * One kernel backend in a worker thread, for backends that have no threads
 * of their own (WASM, JS). Messages: {init: {root, backend}} once, then
 * {id, job} scans or {id, lottery} lottery runs; replies {id, result} or {id, error}. The cancel flag of a
 * job is an Int32Array on a SharedArrayBuffer, so the parent can stop a scan
 * that is running here.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import type { KernelBackend, LotteryJob, Sha256dScanJob } from '../../core/kernel.js';
import { backendCandidates } from './kernels.js';

let backend: KernelBackend | undefined;

parentPort!.on('message', async (msg: { init?: { root: string; backend: string }; id?: number; job?: Sha256dScanJob; lottery?: LotteryJob }) => {
  if (msg.init) {
    const c = backendCandidates(msg.init.root).find((x) => x.name === msg.init!.backend);
    try {
      if (!c) throw new Error(`unknown backend ${msg.init.backend}`);
      backend = await c.load();
      parentPort!.postMessage({ ready: true, impl: { sha256d: backend.capabilities.sha256d, lottery: backend.capabilities.lottery } });
    } catch (e) {
      parentPort!.postMessage({ ready: false, error: (e as Error).message });
    }
    return;
  }
  try {
    if (!backend) throw new Error('worker not initialised');
    if (msg.lottery) parentPort!.postMessage({ id: msg.id, result: await backend.lottery(msg.lottery) });
    else if (msg.job) parentPort!.postMessage({ id: msg.id, result: await backend.sha256dScan(msg.job) });
    else throw new Error('a message with neither job nor lottery');
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message });
  }
});
