/**
 * Task blobs in a directory, for the edge on Node (edge/blobs.ts): one file
 * per blob, named by its address, written to a temporary name and renamed
 * into place, so a reader never sees half a blob and a crash leaves none.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from './blobs.js';

export function dirBlobStore(dir: string): BlobStore {
  mkdirSync(dir, { recursive: true });
  const path = (hash: string) => join(dir, hash);
  let seq = 0;
  return {
    async put(hash, bytes) {
      if (existsSync(path(hash))) return 'known';
      const tmp = path(`.${hash}.${process.pid}.${seq++}`);
      writeFileSync(tmp, bytes);
      renameSync(tmp, path(hash));
      return 'stored';
    },
    async get(hash) {
      return existsSync(path(hash)) ? new Uint8Array(readFileSync(path(hash))) : undefined;
    },
  };
}
