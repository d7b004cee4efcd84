/**
 * The request-auth message of the edge API: a node proves it holds its
 * ed25519 node key, for one whole request, by signing
 *
 *   H_tag("pouw/edge-auth/2", network id ‖ challenge ‖ lp(edge) ‖ lp(METHOD)
 *                            ‖ lp(path with query) ‖ SHA-256(body))
 *
 * where `challenge` is 32 random bytes from `POST /v1/auth/challenge`, issued
 * to this key (sent as `x-pouw-key`) and good for one request; `edge` is the
 * host (and port) the request is sent to, as in its `Host` header; the body
 * is the exact bytes sent (empty when none); lp(x) is x's length as 4 bytes
 * big-endian, then x. So a captured request cannot be sent with another
 * body, to another path or query, to another edge or on another network, and
 * its challenge is spent by its first use. Key, challenge and signature
 * travel as the `x-pouw-key`, `x-pouw-challenge` and `x-pouw-sig` headers.
 *
 * A node's socket is not authenticated by its URL: the node first asks for a
 * socket ticket with a signed `POST /v1/sectors/:sector/ws-ticket`, and opens
 * the socket with `?ticket=<hex>` — single-use, bound to the key and the
 * sector, short-lived; a URL seen after use authorizes nothing.
 *
 * Pure: the server's side (issuing and spending challenges and tickets) is
 * edge/auth.ts.
 * @module
 */
import { concatBytes, toHex, utf8ToBytes } from '../core/bytes.js';
import { sha256, taggedHash } from '../core/hash.js';
import { sign } from '../core/keys.js';

/** The hash tag of node authentication messages (edge-only, not a consensus tag). */
export const AUTH_TAG = 'pouw/edge-auth/2';
export const CHALLENGE_BYTES = 32;
export const TICKET_BYTES = 32;

/** The HTTP headers that carry a request's authentication. */
export const AUTH_HEADERS = { key: 'x-pouw-key', challenge: 'x-pouw-challenge', sig: 'x-pouw-sig' } as const;

/** What a request presents: hex strings as received, unchecked. */
export interface AuthInput {
  key?: string | null;
  challenge?: string | null;
  sig?: string | null;
}

/** The request a signature covers. */
export interface AuthRequest {
  method: string;
  /** The path with its query string, exactly as sent (`/v1/x?a=1`). */
  path: string;
  /** The body as sent; '' when there is none. */
  body: string;
  /** The host (and port) the request is sent to, as its Host header says. */
  edge: string;
}

const lp = (s: string) => {
  const b = utf8ToBytes(s);
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length);
  out.set(b, 4);
  return out;
};

/** The 32 bytes a node signs to authorize `request` with `challenge`. */
export function authMessage(networkId: Uint8Array, challenge: Uint8Array, request: AuthRequest): Uint8Array {
  const fields = concatBytes(lp(request.edge.toLowerCase()), lp(request.method.toUpperCase()), lp(request.path), sha256(utf8ToBytes(request.body)));
  return taggedHash(AUTH_TAG, networkId, challenge, fields);
}

/** A node's signature for one request. */
export function signAuth(secretKey: Uint8Array, networkId: Uint8Array, challenge: Uint8Array, request: AuthRequest): Uint8Array {
  return sign(authMessage(networkId, challenge, request), secretKey);
}

/** Key, challenge and signature for one request, as hex (the values of AUTH_HEADERS). */
export function authFor(key: { publicKey: Uint8Array; secretKey: Uint8Array }, networkId: Uint8Array, challenge: Uint8Array, request: AuthRequest) {
  return { key: toHex(key.publicKey), challenge: toHex(challenge), sig: toHex(signAuth(key.secretKey, networkId, challenge, request)) };
}
