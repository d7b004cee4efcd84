/**
 * Byte helpers shared by the whole core: hex, concatenation, comparison.
 * Thin wrappers over @noble/hashes utils so the rest of core/ has one import.
 * Deliberately no Buffer: core/ runs unchanged in Node, Workers and browsers.
 * @module
 */
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export { concatBytes, utf8ToBytes };

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** Bytes of a hex string (even length, 0-9a-f in either case); RangeError otherwise. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError('hex must be a string');
  try {
    return hexToBytes(hex);
  } catch (e) {
    throw new RangeError(`invalid hex: ${(e as Error).message}`);
  }
}

/** Hex of exactly `length` bytes, or RangeError. */
export function fromHexLength(hex: string, length: number, what = 'value'): Uint8Array {
  const b = fromHex(hex);
  if (b.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${b.length}`);
  return b;
}

/** Constant-content equality (not constant-time; core/ compares public data only). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic comparison: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** A Uint8Array check with a TypeError for programmer errors. */
export function assertBytes(value: unknown, length?: number, what = 'value'): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, got ${value.length}`);
  }
}

/** Unsigned big-endian integer of `bytes`. */
export function bytesToBigIntBE(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + bytesToHex(bytes));
}

/** Unsigned little-endian integer of `bytes` (how SHA-256d proof-of-work hashes are read). */
export function bytesToBigIntLE(bytes: Uint8Array): bigint {
  return bytesToBigIntBE(Uint8Array.from(bytes).reverse());
}

/** `value` as `length` big-endian bytes; RangeError when it does not fit. */
export function bigIntToBytesBE(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new RangeError('negative value');
  const hex = value.toString(16);
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  return hexToBytes(hex.padStart(length * 2, '0'));
}

/** `value` as `length` little-endian bytes. */
export function bigIntToBytesLE(value: bigint, length: number): Uint8Array {
  return bigIntToBytesBE(value, length).reverse();
}
