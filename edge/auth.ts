/**
 * The server's side of node authentication: it hands out random 32-byte
 * challenges and spends one on the first request whose signature over its
 * scope verifies (the message and its signing are the contract's,
 * api/auth.ts). A challenge expires after `challengeTtlMs`; a bad signature
 * does not spend it.
 *
 * Authentication names a node; it grants no trust. Everything a node reports
 * is verified against headers and proofs.
 * @module
 */
import { toHex } from '../core/bytes.js';
import { verify as strictVerify, type Verifier } from '../core/keys.js';
import { authMessage, CHALLENGE_BYTES, type AuthInput } from '../api/auth.js';
import { hexOf } from '../api/codec.js';
import { reject } from '../api/errors.js';
import type { Sql } from './sql.js';

/** Expired challenges deleted per issuance at most. */
const PRUNE_BATCH = 64;

export class Challenges {
  constructor(
    private readonly sql: Sql,
    private readonly networkId: Uint8Array,
    private readonly ttlMs: number,
    private readonly verify: Verifier = strictVerify,
  ) {}

  /** A fresh challenge, valid until `expiresMs`. */
  issue(random: Uint8Array, nowMs: number): { challenge: string; expiresMs: number } {
    if (random.length !== CHALLENGE_BYTES) throw new RangeError(`a challenge is ${CHALLENGE_BYTES} random bytes`);
    const expiresMs = nowMs + this.ttlMs;
    this.sql.run(
      `DELETE FROM challenges WHERE challenge IN (SELECT challenge FROM challenges WHERE expires_ms < ? LIMIT ${PRUNE_BATCH})`,
      nowMs,
    );
    this.sql.run('INSERT INTO challenges (challenge, expires_ms) VALUES (?, ?)', random, expiresMs);
    return { challenge: toHex(random), expiresMs };
  }

  /**
   * Checks a presented signature for `scope` and spends its challenge;
   * returns the node key (hex). Codes: auth-required, bad-request,
   * challenge-unknown, challenge-expired, challenge-used, bad-signature (all 401
   * but bad-request).
   */
  consume(input: AuthInput | undefined, scope: string, nowMs: number): string {
    if (!input?.key || !input.challenge || !input.sig) {
      reject('auth-required', 'this request needs a node key, a challenge and a signature (x-pouw-key, x-pouw-challenge, x-pouw-sig)');
    }
    const key = hexOf(input.key, 'node key', { exact: 32 });
    const challenge = hexOf(input.challenge, 'challenge', { exact: CHALLENGE_BYTES });
    const sig = hexOf(input.sig, 'signature', { exact: 64 });
    const row = this.sql.one<{ expires_ms: number; used_ms: number | null }>('SELECT expires_ms, used_ms FROM challenges WHERE challenge = ?', challenge);
    if (row === undefined) reject('challenge-unknown', 'no such challenge: ask POST /v1/auth/challenge for one');
    if (row.used_ms !== null) reject('challenge-used', 'this challenge was already used; each is good for one request');
    if (nowMs > row.expires_ms) reject('challenge-expired', 'this challenge has expired');
    if (!this.verify(sig, authMessage(this.networkId, challenge, scope), key)) {
      reject('bad-signature', `the signature does not verify for "${scope}" with this key and challenge`);
    }
    this.sql.run('UPDATE challenges SET used_ms = ? WHERE challenge = ?', nowMs, challenge);
    return input.key;
  }
}
