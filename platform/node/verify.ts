/**
 * A fast ed25519 verifier for the node that accepts exactly what core's
 * strict verifier (`core/keys.ts` verify: noble, zip215 false) accepts.
 *
 * OpenSSL (node:crypto) checks the cofactorless equation [S]B = R + [k]A with
 * S < L, but tolerates some encodings and small-order keys that the protocol
 * rejects. So:
 * 1. reject what the protocol always rejects and cheap bytes can tell:
 *    wrong lengths, non-canonical encodings of A or R (y ≥ p, or x = 0 with
 *    the sign bit set), and the eight small-order public keys;
 * 2. if OpenSSL accepts, the cofactored equation holds too (multiply by 8),
 *    so core's verifier would accept: accept;
 * 3. if OpenSSL rejects, ask core's verifier, which decides the rare cases
 *    where the two equations differ (mixed-order points).
 * Valid signatures — the common case — cost one OpenSSL verification; the
 * ed25519-speccheck vectors and random inputs check the equivalence.
 * @module
 */
import { createPublicKey, verify as opensslVerify, type KeyObject } from 'node:crypto';
import { toHex } from '../../core/bytes.js';
import { verify as strictVerify, type Verifier } from '../../core/keys.js';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Canonical encodings of the eight points of order dividing 8 (the torsion subgroup). */
export const SMALL_ORDER_KEYS: ReadonlySet<string> = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
]);

/**
 * Whether 32 bytes are a canonical point encoding as RFC 8032 §5.1.3 decodes
 * it: y < p = 2^255 − 19, and not x = 0 (y = ±1) with the sign bit set.
 * (Whether y is on the curve at all is left to the verifiers.)
 */
export function canonicalEncoding(e: Uint8Array, at = 0): boolean {
  const sign = e[at + 31]! >> 7;
  // y ≥ p exactly when the 255-bit value is 2^255 − 19 .. 2^255 − 1: top bytes all 0xff (0x7f last), low byte ≥ 0xed.
  let high = (e[at + 31]! & 0x7f) === 0x7f;
  for (let i = 30; i >= 1 && high; i--) high = e[at + i] === 0xff;
  if (high && e[at]! >= 0xed) return false;
  if (sign === 1) {
    let one = e[at] === 1;
    let minusOne = e[at] === 0xec && high;
    for (let i = 1; i <= 30 && one; i++) one = e[at + i] === 0;
    if (one && (e[at + 31]! & 0x7f) !== 0) one = false;
    if (one || minusOne) return false;
  }
  return true;
}

/**
 * @param cacheSize public keys kept as parsed OpenSSL key objects (parsing the
 * DER costs about as much as a verification); least recently used go first.
 */
export function fastVerifier(fallback: Verifier = strictVerify, cacheSize = 4096): Verifier {
  const keys = new Map<string, KeyObject>();
  const keyObject = (publicKey: Uint8Array, hex: string): KeyObject => {
    let k = keys.get(hex);
    if (k) {
      keys.delete(hex);
    } else {
      k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
      if (keys.size >= cacheSize) keys.delete(keys.keys().next().value as string);
    }
    keys.set(hex, k);
    return k;
  };
  return (signature, message, publicKey) => {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32 || !(message instanceof Uint8Array)) return false;
    if (!canonicalEncoding(publicKey) || !canonicalEncoding(signature, 0)) return false;
    const hex = toHex(publicKey);
    if (SMALL_ORDER_KEYS.has(hex)) return false;
    let accepted = false;
    try {
      accepted = opensslVerify(null, message, keyObject(publicKey, hex), signature);
    } catch {
      accepted = false;
    }
    return accepted || fallback(signature, message, publicKey);
  };
}
