// Shared by the kernel suites: every backend this install can load, and a
// visible report of the ones it cannot (a missing native addon must never
// make the native checks pass silently). POUW_REQUIRE_NATIVE=1 (CI) turns a
// missing addon into a failure.
import { fileURLToPath } from 'node:url';
import { backendCandidates } from '../../platform/node/kernels.js';
import type { KernelBackend } from '../../core/kernel.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Loaded {
  backends: KernelBackend[];
  missing: { name: string; reason: string }[];
}

let cache: Promise<Loaded> | undefined;

export function loadAll(): Promise<Loaded> {
  cache ??= (async () => {
    const out: Loaded = { backends: [], missing: [] };
    for (const c of backendCandidates(root)) {
      try {
        out.backends.push(await c.load());
      } catch (e) {
        out.missing.push({ name: c.name, reason: (e as Error).message });
        process.stderr.write(`\n  !! ${c.name} kernel backend NOT TESTED: ${(e as Error).message}\n`);
      }
    }
    return out;
  })();
  return cache;
}
