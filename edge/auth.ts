/**
 * The server's side of node authentication: it hands out random 32-byte
 * challenges, each to the key that asked, and spends one on the first
 * request of that key whose signature over the whole request verifies (the
 * message and its signing are the contract's, api/auth.ts). A challenge
 * expires after `challengeTtlMs`; a bad signature, a re-bodied or replayed
 * request, or another key does not spend it. Socket tickets are issued to an
 * authenticated key for one sector and spent by the upgrade that presents
 * them (TICKET_TTL_MS).
 *
 * Authentication names a node; it grants no trust. Everything a node reports
 * is verified against headers and proofs.
 * @module
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { verify as strictVerify, type Verifier } from '../core/keys.js';
import { authMessage, CHALLENGE_BYTES, TICKET_BYTES, type AuthInput, type AuthRequest } from '../api/auth.js';
import { hexOf } from '../api/codec.js';
import { reject } from '../api/errors.js';
import type { Sql } from './sql.js';

/** Expired challenges deleted per issuance at most. */
const PRUNE_BATCH = 64;

/** How long a socket ticket is good for: the node asks for one just before it dials. */
export const TICKET_TTL_MS = 15_000;

export class Challenges {
  constructor(
    private readonly sql: Sql,
    private readonly networkId: Uint8Array,
    private readonly ttlMs: number,
    private readonly verify: Verifier = strictVerify,
  ) {}

  /** A fresh challenge for `key` (hex, as presented), valid until `expiresMs`. Codes: auth-required, bad-request. */
  issue(random: Uint8Array, key: string | null | undefined, nowMs: number): { challenge: string; expiresMs: number } {
    if (random.length !== CHALLENGE_BYTES) throw new RangeError(`a challenge is ${CHALLENGE_BYTES} random bytes`);
    if (!key) reject('auth-required', 'a challenge is issued to a node key: send it as x-pouw-key');
    const nodeKey = hexOf(key, 'node key', { exact: 32 });
    const expiresMs = nowMs + this.ttlMs;
    this.sql.run(
      `DELETE FROM challenges WHERE challenge IN (SELECT challenge FROM challenges WHERE expires_ms < ? LIMIT ${PRUNE_BATCH})`,
      nowMs,
    );
    this.sql.run('INSERT INTO challenges (challenge, expires_ms, node_key) VALUES (?, ?, ?)', random, expiresMs, nodeKey);
    return { challenge: toHex(random), expiresMs };
  }

  /**
   * Checks a presented signature over `request` and spends its challenge;
   * returns the node key (hex). Codes: auth-required, bad-request,
   * challenge-unknown, challenge-wrong-key, challenge-expired, challenge-used,
   * bad-signature (all 401 but bad-request).
   */
  consume(input: AuthInput | undefined, request: AuthRequest | undefined, nowMs: number): string {
    if (!input?.key || !input.challenge || !input.sig || request === undefined) {
      reject('auth-required', 'this request needs a node key, a challenge and a signature (x-pouw-key, x-pouw-challenge, x-pouw-sig)');
    }
    const key = hexOf(input.key, 'node key', { exact: 32 });
    const challenge = hexOf(input.challenge, 'challenge', { exact: CHALLENGE_BYTES });
    const sig = hexOf(input.sig, 'signature', { exact: 64 });
    const row = this.sql.one<{ expires_ms: number; used_ms: number | null; node_key: Uint8Array }>(
      'SELECT expires_ms, used_ms, node_key FROM challenges WHERE challenge = ?',
      challenge,
    );
    if (row === undefined) reject('challenge-unknown', 'no such challenge: ask POST /v1/auth/challenge for one');
    if (!equalBytes(new Uint8Array(row.node_key), key)) reject('challenge-wrong-key', 'this challenge was issued to another key');
    if (row.used_ms !== null) reject('challenge-used', 'this challenge was already used; each is good for one request');
    if (nowMs > row.expires_ms) reject('challenge-expired', 'this challenge has expired');
    if (!this.verify(sig, authMessage(this.networkId, challenge, request), key)) {
      reject('bad-signature', `the signature does not verify for ${request.method} ${request.path} on ${request.edge} with this body, key and challenge`);
    }
    this.sql.run('UPDATE challenges SET used_ms = ? WHERE challenge = ?', nowMs, challenge);
    return input.key;
  }

  /** A socket ticket for `key` (authenticated) and `sectorId`. */
  issueTicket(random: Uint8Array, key: string, sectorId: number, nowMs: number): { ticket: string; expiresMs: number } {
    if (random.length !== TICKET_BYTES) throw new RangeError(`a ticket is ${TICKET_BYTES} random bytes`);
    const expiresMs = nowMs + TICKET_TTL_MS;
    this.sql.run(`DELETE FROM socket_tickets WHERE ticket IN (SELECT ticket FROM socket_tickets WHERE expires_ms < ? LIMIT ${PRUNE_BATCH})`, nowMs);
    this.sql.run('INSERT INTO socket_tickets (ticket, sector_id, node_key, expires_ms) VALUES (?, ?, ?, ?)', random, sectorId, key, expiresMs);
    return { ticket: toHex(random), expiresMs };
  }

  /** Spends a socket ticket for `sectorId`; returns its node key. Codes: auth-required, bad-request, ticket-unknown, ticket-used, ticket-expired, ticket-wrong-sector. */
  consumeTicket(ticket: string | null | undefined, sectorId: number, nowMs: number): string {
    if (!ticket) reject('auth-required', 'a node socket needs a ticket: POST /v1/sectors/:sector/ws-ticket, then ?ticket=<hex>');
    const t = hexOf(ticket, 'ticket', { exact: TICKET_BYTES });
    const row = this.sql.one<{ sector_id: number; node_key: string; expires_ms: number; used_ms: number | null }>(
      'SELECT sector_id, node_key, expires_ms, used_ms FROM socket_tickets WHERE ticket = ?',
      t,
    );
    if (row === undefined) reject('ticket-unknown', 'no such ticket');
    if (row.used_ms !== null) reject('ticket-used', 'this ticket was already used; each opens one socket');
    if (nowMs > row.expires_ms) reject('ticket-expired', 'this ticket has expired');
    if (row.sector_id !== sectorId) reject('ticket-wrong-sector', `this ticket is for sector ${row.sector_id}`);
    this.sql.run('UPDATE socket_tickets SET used_ms = ? WHERE ticket = ?', nowMs, t);
    return row.node_key;
  }
}
