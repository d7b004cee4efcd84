/// <reference path="./workers-types.d.ts" />
/**
 * Where the edge keeps task blobs (api/blobs.ts): one interface, a backend
 * per runtime. On Workers an R2 bucket (the `BLOBS` binding of
 * wrangler.toml); on Node a directory (edge/blob-dir.ts). The app checks a
 * blob's address before it reaches a store, so a store only keeps and finds.
 * @module
 */
import { gemmInputsProblem } from '../core/task.js';
import { reject } from '../api/errors.js';
import type { TaskSubmit } from '../api/tasks.js';

export interface BlobStore {
  /** Stores `bytes` at `hash` unless something is there already; says which. */
  put(hash: string, bytes: Uint8Array): Promise<'stored' | 'known'>;
  get(hash: string): Promise<Uint8Array | undefined>;
}

/** Blobs in memory, for an edge that keeps nothing on disk (tests, `:memory:` databases). */
export function memoryBlobStore(): BlobStore {
  const m = new Map<string, Uint8Array>();
  return {
    async put(hash, bytes) {
      if (m.has(hash)) return 'known';
      m.set(hash, bytes.slice());
      return 'stored';
    },
    get: async (hash) => m.get(hash),
  };
}

/** Blobs in an R2 bucket, one object per blob, keyed `blobs/<hash>`. */
export function r2BlobStore(bucket: R2Bucket): BlobStore {
  const key = (hash: string) => `blobs/${hash}`;
  return {
    async put(hash, bytes) {
      if ((await bucket.head(key(hash))) !== null) return 'known';
      await bucket.put(key(hash), bytes);
      return 'stored';
    },
    async get(hash) {
      const o = await bucket.get(key(hash));
      return o === null ? undefined : new Uint8Array(await o.arrayBuffer());
    },
  };
}

/**
 * The input blobs of a submitted task, checked against its tx: each stored
 * (`task-input-missing`) and of the size the tx's shape gives; for gemm-i8,
 * entries in [−64, 64] and the lottery commitments of A's rows and B's
 * columns equal to the tx's (`task-input-mismatch`).
 */
export async function checkTaskInputs(submit: TaskSubmit, blobs: BlobStore): Promise<void> {
  const p = submit.tx.payload;
  if (p.kind !== 'task') reject('bad-task', 'not a task tx');
  const got: Uint8Array[] = [];
  for (const hash of submit.inputs) {
    const b = await blobs.get(hash);
    if (b === undefined) reject('task-input-missing', `no blob ${hash}: upload the inputs first`);
    got.push(b);
  }
  if (p.work !== 'gemm-i8') {
    const want = p.m * p.k * (p.work === 'mlp-f32' ? 4 : 1);
    if (got[0]!.length !== want) reject('task-input-mismatch', `input of ${got[0]!.length} bytes, the task's shape needs ${want}`);
    return;
  }
  const [a, b] = got.map((x) => new Int8Array(x.buffer, x.byteOffset, x.length)) as [Int8Array, Int8Array];
  const problem = gemmInputsProblem(p, a, b);
  if (problem !== null) reject('task-input-mismatch', problem);
}
