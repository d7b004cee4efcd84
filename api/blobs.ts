/**
 * Content-addressed blobs: the inputs of compute tasks (and, later, their
 * results), uploaded to the edge and fetched by the executors.
 *
 *   PUT /v1/blobs/:hash   raw bytes (application/octet-stream), at most
 *                         MAX_BLOB_BYTES; answered {hash, bytes, status:
 *                         'stored' | 'known'}
 *   GET /v1/blobs/:hash   the bytes, or 404 `blob-not-found`
 *
 * The address is SHA-256 of the bytes, as 64 lower-case hex characters. The
 * edge stores nothing that does not hash to its address. Codes:
 * `bad-blob-hash` (the address is not 64 hex), `blob-empty`,
 * `blob-hash-mismatch` (the bytes hash elsewhere), `body-too-large` (over
 * MAX_BLOB_BYTES), `blob-not-found`. On Workers the blobs live in an R2
 * bucket, on Node in a directory (edge/blobs.ts).
 * @module
 */
import { sha256 } from '../core/hash.js';
import { fromHex, toHex } from '../core/bytes.js';
import { fail, ok, type Result } from '../core/errors.js';
import { MAX_TASK_INPUT_BYTES } from '../core/task.js';
import { intOf, objectOf, stringOf } from './codec.js';
import { reject } from './errors.js';

export const BLOB_PATH = '/v1/blobs/:hash';
/** The largest blob: a task's largest input. */
export const MAX_BLOB_BYTES = MAX_TASK_INPUT_BYTES;

export type BlobCode = 'bad-blob-hash' | 'blob-empty' | 'blob-hash-mismatch';

export interface BlobPutJson {
  hash: string;
  bytes: number;
  status: 'stored' | 'known';
}

/** The blob address of `bytes`: SHA-256, hex. */
export function blobHash(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** A blob address from a path segment, or `bad-blob-hash`. */
export function blobHashOf(v: unknown): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) reject('bad-blob-hash', 'a blob address is the SHA-256 of its bytes as 64 lower-case hex characters');
  return v;
}

/** Do `bytes` belong at `hash`? */
export function checkBlob(hash: string, bytes: Uint8Array): Result<undefined, BlobCode> {
  if (bytes.length === 0) return fail('blob-empty', 'a blob has at least one byte');
  const got = blobHash(bytes);
  if (got !== hash) return fail('blob-hash-mismatch', `the bytes hash to ${got}, not ${hash}`);
  return ok();
}

export function blobPutOf(json: unknown): BlobPutJson {
  const o = objectOf(json, 'blob answer');
  const status = stringOf(o.status, 'status');
  if (status !== 'stored' && status !== 'known') reject('bad-answer', `blob status ${status}`);
  fromHex(blobHashOf(o.hash));
  return { hash: o.hash as string, bytes: intOf(o.bytes, 'bytes', 1, MAX_BLOB_BYTES), status };
}
