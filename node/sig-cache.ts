/**
 * A bounded cache of signatures already found valid, in the manner of
 * Bitcoin Core's signature cache: the mempool verifies a tx when it arrives,
 * so when the same tx comes back inside a block its signature need not be
 * verified again; the parallel pre-verifier (node/verify-pool.ts) fills it
 * for a block's unknown txs just before the chain validates the block.
 *
 * Only successes are stored — a failure is never cached, so a bad signature
 * is always verified again and rejected by the same verifier, and the cache
 * can change how fast a block is validated but never the verdict. An entry is
 * keyed by a salted SHA-256 of the three lengths and public key ‖ signature ‖
 * message; the salt is drawn per process so nobody can aim inputs at the key
 * space. When full, the oldest entry goes first. Lookups made while
 * validating a block erase their entry (that block is checked once; the entry
 * would only take room).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Verifier } from '../core/keys.js';

export const DEFAULT_SIG_CACHE_ENTRIES = 1 << 17;

export class SignatureCache {
  private readonly entries = new Set<string>();
  private readonly salt = randomBytes(32);
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries: number = DEFAULT_SIG_CACHE_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries is a non-negative integer');
  }

  get size(): number {
    return this.entries.size;
  }

  private key(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): string {
    // The lengths go in too, so one byte string splits into (key, signature, message) one way only.
    const lengths = new Uint32Array([publicKey.length, signature.length, message.length]);
    const h = createHash('sha256').update(this.salt).update(lengths);
    return h.update(publicKey).update(signature).update(message).digest('base64');
  }

  /** Records a triple the node's verifier accepted. */
  add(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): void {
    if (this.maxEntries === 0) return;
    const k = this.key(signature, message, publicKey);
    if (this.entries.has(k)) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.values().next().value as string);
    this.entries.add(k);
  }

  /** Whether the triple was accepted before; `erase` drops the entry on a hit. */
  has(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, erase = false): boolean {
    const k = this.key(signature, message, publicKey);
    const hit = this.entries.has(k);
    if (hit) {
      this.hits++;
      if (erase) this.entries.delete(k);
    } else {
      this.misses++;
    }
    return hit;
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A verifier that answers from `cache` when it can and asks `verify`
 * otherwise, adding what `verify` accepts. Its verdicts are `verify`'s
 * exactly, provided only `verify`-accepted triples were ever added.
 * `erase: true` (block validation) drops each entry it hits.
 */
export function cachedVerifier(cache: SignatureCache, verify: Verifier, opts: { erase?: boolean } = {}): Verifier {
  const erase = opts.erase ?? false;
  return (signature, message, publicKey) => {
    if (
      signature instanceof Uint8Array &&
      message instanceof Uint8Array &&
      publicKey instanceof Uint8Array &&
      cache.has(signature, message, publicKey, erase)
    ) {
      return true;
    }
    const ok = verify(signature, message, publicKey);
    // A block's signature is seen once; only admission (erase off) keeps it for later.
    if (ok && !erase) cache.add(signature, message, publicKey);
    return ok;
  };
}
