/**
 * Which kernel backends this install can use, and why not the others: each
 * backend is actually loaded (platform/node/kernels.ts), so "available" means a miner
 * could run it now. Order is fastest first (native, wasm, js); the first
 * available one is what a miner uses unless POUW_KERNEL names another.
 * @module
 */
import { probeKernels, type BackendStatus } from '../platform/node/kernels.js';
import { packageInfo } from '../platform/node/package-info.js';

export type BackendProbe = BackendStatus;
export { NATIVE_ADDON } from '../native/index.js';
export { WASM_MODULE } from '../wasm/index.js';

/** All backends, fastest first. Never throws. */
export function probeBackends(root: string = packageInfo().root): Promise<BackendProbe[]> {
  return probeKernels(root);
}

/** The backend a miner would pick: POUW_KERNEL if it is available, else the first available one. */
export function preferredBackend(probes: BackendProbe[], forced: string | undefined = process.env.POUW_KERNEL || undefined): BackendProbe | undefined {
  if (forced) return probes.find((p) => p.name === forced && p.available);
  return probes.find((p) => p.available);
}
