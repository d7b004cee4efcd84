/**
 * ed25519 keys, signatures and addresses.
 *
 * Verification is strict RFC 8032 (not ZIP-215): non-canonical point
 * encodings and S ≥ L are rejected, so a signature has exactly one accepted
 * encoding per (key, message, nonce). Key generation takes the 32-byte seed
 * from the caller: core/ draws no randomness of its own.
 *
 * An address is the first 20 bytes of SHA-256(public key), written as bech32m
 * (BIP-350) with the network's human prefix, so typos are caught by the
 * checksum and a devnet address cannot be pasted into another network.
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bech32m } from '@scure/base';
import { assertBytes } from './bytes.js';
import { fail, ok, type Result } from './errors.js';
import { sha256 } from './hash.js';

export const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const ADDRESS_BYTES = 20;

export interface KeyPair {
  /** The 32-byte RFC 8032 private key (seed). */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * A signature check. Consensus is exactly `verify` below (noble, zip215: false:
 * cofactored equation, canonical encodings, S < L, small-order public keys
 * rejected). A faster verifier may be injected only if it accepts exactly the
 * same set: OpenSSL's cofactorless check disagrees on 5 of the 12
 * ed25519-speccheck cases (test/vectors/ed25519.json), so it needs pre-checks
 * that make it agree before it can stand in.
 */
export type Verifier = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  assertBytes(seed, SEED_BYTES, 'seed');
  return { secretKey: Uint8Array.from(seed), publicKey: ed25519.getPublicKey(seed) };
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, SEED_BYTES, 'secretKey');
  assertBytes(message, undefined, 'message');
  return ed25519.sign(message, secretKey);
}

/** Strict RFC 8032 verification; false (never a throw) for any malformed input. */
export const verify: Verifier = (signature, message, publicKey) => {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
};

/** 20 bytes of SHA-256(publicKey). */
export function addressOf(publicKey: Uint8Array): Uint8Array {
  assertBytes(publicKey, PUBLIC_KEY_BYTES, 'publicKey');
  return sha256(publicKey).slice(0, ADDRESS_BYTES);
}

/** bech32m text form of a 20-byte address under a human prefix. */
export function encodeAddress(address: Uint8Array, prefix: string): string {
  assertBytes(address, ADDRESS_BYTES, 'address');
  if (!/^[a-z]{1,16}$/.test(prefix)) throw new RangeError(`bad address prefix: ${prefix}`);
  return bech32m.encode(prefix, bech32m.toWords(address));
}

/** Parses a text address; codes: address-bad-format, address-wrong-prefix, address-bad-length. */
export function decodeAddress(text: string, prefix: string): Result<Uint8Array> {
  if (typeof text !== 'string') return fail('address-bad-format', 'not a string');
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(text as `${string}1${string}`, 90);
  } catch (e) {
    return fail('address-bad-format', (e as Error).message);
  }
  if (decoded.prefix !== prefix) {
    return fail('address-wrong-prefix', `expected prefix ${prefix}, got ${decoded.prefix}`);
  }
  const bytes = bech32m.fromWordsUnsafe(decoded.words);
  if (!bytes || bytes.length !== ADDRESS_BYTES) {
    return fail('address-bad-length', `an address is ${ADDRESS_BYTES} bytes`);
  }
  return ok(bytes);
}
