/**
 * Which kernel backends this install can use, and why not the others.
 *
 * A probe only: it looks for the built artefacts and tries to load them, it
 * runs no kernel. Order is fastest first (native, wasm, js); the first
 * available one is what a miner would use. The kernels module is meant to
 * replace this with real loaders behind the same `BackendProbe` shape.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageInfo } from './package-info.js';

export type BackendName = 'native' | 'wasm' | 'js';

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** Why it is or is not available, in words a user can act on. */
  reason: string;
}

/** Package-relative locations of the built backends. */
export const NATIVE_ADDON = 'build/Release/pouw_native.node';
export const WASM_MODULE = 'wasm/pouw_kernels.wasm';

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.trim();
}

function probeNative(root: string): BackendProbe {
  const file = join(root, NATIVE_ADDON);
  if (!existsSync(file)) return { name: 'native', available: false, reason: `not built (no addon at ${NATIVE_ADDON})` };
  try {
    createRequire(import.meta.url)(file);
    return { name: 'native', available: true, reason: `loaded ${NATIVE_ADDON}` };
  } catch (e) {
    const message = firstLine(e);
    const hint = /NODE_MODULE_VERSION|was compiled against a different Node/.test(message)
      ? ` (built for another Node ABI than ${process.versions.modules}; rebuild it)`
      : '';
    return { name: 'native', available: false, reason: `${NATIVE_ADDON} failed to load: ${message}${hint}` };
  }
}

/** WebAssembly is a Node global, but not in the es2022 lib this project compiles against. */
const wasmApi = (globalThis as unknown as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

function probeWasm(root: string): BackendProbe {
  const file = join(root, WASM_MODULE);
  if (!existsSync(file)) return { name: 'wasm', available: false, reason: `not built (no ${WASM_MODULE})` };
  try {
    const bytes = readFileSync(file);
    if (!wasmApi) return { name: 'wasm', available: false, reason: 'this runtime has no WebAssembly' };
    if (!wasmApi.validate(bytes)) {
      return {
        name: 'wasm',
        available: false,
        reason: `${WASM_MODULE} is not a module this runtime accepts (corrupt, or needs simd128)`,
      };
    }
    return { name: 'wasm', available: true, reason: `validated ${WASM_MODULE}` };
  } catch (e) {
    return { name: 'wasm', available: false, reason: `${WASM_MODULE} could not be read: ${firstLine(e)}` };
  }
}

/** All backends, fastest first. Never throws. */
export function probeBackends(root: string = packageInfo().root): BackendProbe[] {
  return [probeNative(root), probeWasm(root), { name: 'js', available: true, reason: 'reference (always available, slowest)' }];
}

/** The backend a miner would pick: the first available one, fastest first. */
export function preferredBackend(probes: BackendProbe[]): BackendProbe | undefined {
  return probes.find((p) => p.available);
}
