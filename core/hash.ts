/**
 * SHA-256, SHA-256d and tagged (domain-separated) hashes.
 *
 * Every hash the protocol computes over structured data is tagged, so a value
 * hashed for one purpose can never be replayed as another (a tx id is never a
 * merkle node, a beacon never a selection draw). Tagging follows BIP-340:
 * `H_tag(m) = SHA256(SHA256(tag) || SHA256(tag) || m)`; the 64-byte prefix is
 * one SHA-256 block, so its midstate is cached per tag.
 *
 * Block ids and proof-of-work use plain SHA-256d over the fixed header, so
 * miners can hash from a midstate, exactly as Bitcoin does.
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from './bytes.js';

/** SHA-256 (FIPS 180-4). */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** SHA-256(SHA-256(data)), the block-id and proof-of-work hash. */
export function sha256d(data: Uint8Array): Uint8Array {
  return nobleSha256(nobleSha256(data));
}

/** The protocol's hash tags. Adding one is a consensus change; renaming one is a hard fork. */
export const TAGS = {
  txId: 'pouw/txid',
  txSig: 'pouw/tx-sig',
  bodyRoot: 'pouw/body-root',
  beacon: 'pouw/beacon',
  select: 'pouw/select',
  networkId: 'pouw/network-id',
  genesis: 'pouw/genesis',
  lotteryJob: 'pouw/lottery-job',
  lotterySeedB: 'pouw/lottery-seed-b',
  lotterySeedA: 'pouw/lottery-seed-a',
  lotteryTicket: 'pouw/lottery-ticket',
  treasury: 'pouw/treasury',
  mainJournal: 'pouw/main-journal',
  release: 'pouw/release',
  recycleLock: 'pouw/recycle-lock',
  taskRank: 'pouw/task-rank',
  resultCommit: 'pouw/result-commit',
} as const;

type Hasher = ReturnType<typeof nobleSha256.create>;
const prefixed = new Map<string, Hasher>();

/** BIP-340 style tagged hash of the concatenation of `parts`. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  let base = prefixed.get(tag);
  if (base === undefined) {
    const t = nobleSha256(utf8ToBytes(tag));
    base = nobleSha256.create().update(t).update(t);
    prefixed.set(tag, base);
  }
  const h = base.clone();
  for (const p of parts) h.update(p);
  return h.digest();
}
