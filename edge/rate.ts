/**
 * Rate limits: token buckets per client IP and per authenticated node key.
 *
 * A bucket holds at most `burst` tokens and refills at `perMinute`; each
 * request takes one. The arithmetic is in integer milli-tokens. The buckets
 * live in memory — the Durable Object's on Workers (one coordinator object
 * serves every request), the process's on Node — never in storage: counting
 * a request must not write to disk, or a full disk would refuse every route,
 * health included. A restart forgets them (every bucket starts full).
 * Idle buckets are full again after burst/perMinute minutes and are pruned;
 * at most `maxBuckets` are held (the oldest go first).
 *
 * `refillBucket` and `takeToken` are pure; `RateLimiter` holds the buckets.
 * @module
 */
import { PouwError } from '../core/errors.js';

export interface RateLimit {
  /** Tokens a new or idle bucket holds: the largest burst of requests. */
  burst: number;
  /** Tokens added per minute: the sustained request rate. */
  perMinute: number;
}

export interface Bucket {
  /** Milli-tokens. */
  tokens: number;
  updatedMs: number;
}

const MILLI = 1000;
/** Buckets pruned per request at most, so pruning never makes one request slow. */
const PRUNE_BATCH = 16;

/** The bucket after refilling up to `nowMs` (a missing bucket is full). */
export function refillBucket(b: Bucket | undefined, limit: RateLimit, nowMs: number): Bucket {
  const cap = limit.burst * MILLI;
  if (b === undefined) return { tokens: cap, updatedMs: nowMs };
  const elapsed = Math.max(0, nowMs - b.updatedMs);
  // perMinute tokens per 60,000 ms = perMinute milli-tokens per 60 ms.
  const added = Math.floor((elapsed * limit.perMinute) / 60);
  return { tokens: Math.min(cap, b.tokens + added), updatedMs: nowMs };
}

/** Takes one token: the new bucket, or how long until one is available. */
export function takeToken(b: Bucket | undefined, limit: RateLimit, nowMs: number): { ok: true; bucket: Bucket } | { ok: false; retryAfterMs: number } {
  const r = refillBucket(b, limit, nowMs);
  if (r.tokens >= MILLI) return { ok: true, bucket: { tokens: r.tokens - MILLI, updatedMs: nowMs } };
  const missing = MILLI - r.tokens;
  return { ok: false, retryAfterMs: limit.perMinute > 0 ? Math.ceil((missing * 60) / limit.perMinute) : 60_000 };
}

/**
 * `share`: one authenticated socket key's part of its address's budget, keyed
 * by address and key, at half the address's limit (`shareOf`). It is taken
 * before the address's token, so one key flooding over a socket runs dry at
 * half of its address's budget and the other keys behind that address keep
 * the rest. (HTTP requests name their key only after the address's token
 * paid for checking the signature, so they take no share.)
 */
export type RateKind = 'ip' | 'key' | 'share';

/** Half the address's burst and rate, at least one token. */
export function shareOf(ip: RateLimit): RateLimit {
  return { burst: Math.max(1, Math.floor(ip.burst / 2)), perMinute: ip.perMinute / 2 };
}

export class RateLimiter {
  /** Idle time after which every bucket is full again, whatever its kind. */
  private readonly fullAfterMs: number;
  /** Buckets by `kind:id`, least recently used first. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: Readonly<Record<RateKind, RateLimit>>,
    private readonly maxBuckets = 100_000,
  ) {
    this.fullAfterMs = Math.max(...Object.values(limits).map((l) => (l.perMinute > 0 ? Math.ceil((l.burst * 60_000) / l.perMinute) : 3_600_000)));
  }

  /** Buckets held. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token from the bucket of `kind:id`, or refuses with `rate-limited` (429). */
  take(kind: RateKind, id: string, nowMs: number): void {
    const key = `${kind}:${id}`;
    const r = takeToken(this.buckets.get(key), this.limits[kind], nowMs);
    if (!r.ok) {
      const retryAfterS = Math.ceil(r.retryAfterMs / 1000);
      const whose = kind === 'ip' ? 'address' : kind === 'key' ? 'node key' : "node key's half of its address";
      throw new PouwError('rate-limited', `too many requests for this ${whose}; retry in ${retryAfterS} s`, { retryAfterS });
    }
    this.buckets.delete(key);
    this.buckets.set(key, r.bucket);
    // The oldest buckets first: one idle this long is full again, and forgetting it changes nothing.
    let pruned = 0;
    for (const [k, b] of this.buckets) {
      if (pruned >= PRUNE_BATCH || (b.updatedMs >= nowMs - this.fullAfterMs && this.buckets.size <= this.maxBuckets)) break;
      this.buckets.delete(k);
      pruned++;
    }
  }
}
