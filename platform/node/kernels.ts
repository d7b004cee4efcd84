/**
 * Kernel backends on a contributor's machine: the native addon, the WASM
 * module and the reference, tried fastest first (or only the one named by
 * POUW_KERNEL), with the reason each faster one was skipped.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseBackend, jsBackend, BACKEND_ORDER, type BackendCandidate, type BackendChoice, type BackendName, type KernelBackend } from '../../core/kernel.js';
import { loadNative } from '../../native/index.js';
import { loadWasm, WASM_MODULE } from '../../wasm/index.js';

export function backendCandidates(root: string): BackendCandidate[] {
  return [
    { name: 'native', load: () => loadNative(root) },
    {
      name: 'wasm',
      load: async () => {
        let bytes: Uint8Array;
        try {
          bytes = readFileSync(join(root, WASM_MODULE));
        } catch {
          throw new Error(`not built (no ${WASM_MODULE})`);
        }
        return loadWasm(bytes);
      },
    },
    { name: 'js', load: async () => jsBackend() },
  ];
}

/** The backend to mine with: POUW_KERNEL (or `forced`) wins, else the fastest that loads. */
export function selectKernel(root: string, forced: string | undefined = process.env.POUW_KERNEL || undefined): Promise<BackendChoice> {
  return chooseBackend(backendCandidates(root), forced);
}

export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** What loaded (the implementation in use) or why it did not. */
  reason: string;
}

/** Tries every backend, for `pouw --version` and `pouw bench`. Never throws. */
export async function probeKernels(root: string): Promise<BackendStatus[]> {
  const out: BackendStatus[] = [];
  for (const c of backendCandidates(root)) {
    try {
      const b: KernelBackend = await c.load();
      const cuda = b.capabilities.details.cuda;
      const detail =
        b.name === 'js'
          ? 'reference (always available, slowest)'
          : `SHA-256d ${b.capabilities.sha256d}, up to ${b.capabilities.maxThreads} thread(s)${cuda !== undefined ? `; CUDA: ${cuda}` : ''}`;
      out.push({ name: c.name, available: true, reason: detail });
      await b.close();
    } catch (e) {
      out.push({ name: c.name, available: false, reason: (e as Error).message });
    }
  }
  return out.sort((a, b) => BACKEND_ORDER.indexOf(a.name) - BACKEND_ORDER.indexOf(b.name));
}
