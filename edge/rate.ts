/**
 * Rate limits: token buckets per client IP and per authenticated node key.
 *
 * A bucket holds at most `burst` tokens and refills at `perMinute`; each
 * request takes one. The arithmetic is in integer milli-tokens, and the
 * bucket state lives in the coordinator's SQL (`rate_buckets`) so that every
 * Worker isolate and every Node process behind one database shares it. Idle
 * buckets are full again after burst/perMinute minutes and are pruned.
 *
 * `refillBucket` and `takeToken` are pure; `RateLimiter` is the SQL part.
 * @module
 */
import { PouwError } from '../core/errors.js';
import type { Sql } from './sql.js';

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

export type RateKind = 'ip' | 'key';

export class RateLimiter {
  /** Idle time after which every bucket is full again, whatever its kind. */
  private readonly fullAfterMs: number;

  constructor(
    private readonly sql: Sql,
    private readonly limits: Readonly<Record<RateKind, RateLimit>>,
  ) {
    this.fullAfterMs = Math.max(...Object.values(limits).map((l) => (l.perMinute > 0 ? Math.ceil((l.burst * 60_000) / l.perMinute) : 3_600_000)));
  }

  /** Takes a token from the bucket of `kind:id`, or refuses with `rate-limited` (429); writes only on success. */
  take(kind: RateKind, id: string, nowMs: number): void {
    const key = `${kind}:${id}`;
    const row = this.sql.one<{ tokens: number; updated_ms: number }>('SELECT tokens, updated_ms FROM rate_buckets WHERE key = ?', key);
    const r = takeToken(row && { tokens: row.tokens, updatedMs: row.updated_ms }, this.limits[kind], nowMs);
    if (!r.ok) {
      const retryAfterS = Math.ceil(r.retryAfterMs / 1000);
      throw new PouwError('rate-limited', `too many requests for this ${kind === 'ip' ? 'address' : 'node key'}; retry in ${retryAfterS} s`, { retryAfterS });
    }
    this.sql.run(
      'INSERT INTO rate_buckets (key, tokens, updated_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_ms = excluded.updated_ms',
      key,
      r.bucket.tokens,
      nowMs,
    );
    // A bucket idle this long is full again; forgetting it changes nothing.
    this.sql.run(
      `DELETE FROM rate_buckets WHERE key IN (SELECT key FROM rate_buckets WHERE updated_ms < ? LIMIT ${PRUNE_BATCH})`,
      nowMs - this.fullAfterMs,
    );
  }
}
