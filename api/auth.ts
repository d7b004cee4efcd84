/**
 * The request-auth message of the edge API: a node proves it holds its
 * ed25519 node key by signing
 *
 *   H_tag("pouw/edge-auth", network id ‖ challenge ‖ utf8(scope))
 *
 * where `challenge` is 32 random bytes from `POST /v1/auth/challenge` and
 * `scope` is the request it authorizes, `"<METHOD> <path>"` (e.g.
 * `"GET /v1/sectors/1/ws"`). The network id keeps a signature on one
 * network; the scope keeps a signature for one request from authorizing
 * another. Key, challenge and signature travel as the `x-pouw-key`,
 * `x-pouw-challenge` and `x-pouw-sig` headers, or as the `key`, `challenge`
 * and `sig` query parameters of a WebSocket upgrade.
 *
 * Pure: the server's side (issuing and spending challenges) is edge/auth.ts.
 * @module
 */
import { toHex, utf8ToBytes } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import { sign } from '../core/keys.js';

/** The hash tag of node authentication messages (edge-only, not a consensus tag). */
export const AUTH_TAG = 'pouw/edge-auth';
export const CHALLENGE_BYTES = 32;

/** The HTTP headers that carry a request's authentication. */
export const AUTH_HEADERS = { key: 'x-pouw-key', challenge: 'x-pouw-challenge', sig: 'x-pouw-sig' } as const;

/** What a request presents: hex strings as received (headers or query), unchecked. */
export interface AuthInput {
  key?: string | null;
  challenge?: string | null;
  sig?: string | null;
}

/** The scope a node signs: `"<METHOD> <path>"`, the path without its query. */
export function authScope(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** The 32 bytes a node signs to authorize `scope` with `challenge`. */
export function authMessage(networkId: Uint8Array, challenge: Uint8Array, scope: string): Uint8Array {
  return taggedHash(AUTH_TAG, networkId, challenge, utf8ToBytes(scope));
}

/** A node's signature for one request. */
export function signAuth(secretKey: Uint8Array, networkId: Uint8Array, challenge: Uint8Array, scope: string): Uint8Array {
  return sign(authMessage(networkId, challenge, scope), secretKey);
}

/** Key, challenge and signature for one request, as hex (the values of AUTH_HEADERS or the socket query). */
export function authFor(key: { publicKey: Uint8Array; secretKey: Uint8Array }, networkId: Uint8Array, challenge: Uint8Array, scope: string) {
  return { key: toHex(key.publicKey), challenge: toHex(challenge), sig: toHex(signAuth(key.secretKey, networkId, challenge, scope)) };
}
