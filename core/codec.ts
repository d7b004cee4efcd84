/**
 * Canonical binary codec.
 *
 * One encoding per value, so ids and signatures are over exactly one byte
 * string: fixed-width integers are little-endian; variable lengths and counts
 * are unsigned LEB128 varints that must be minimal; every variable field has a
 * hard limit chosen by its schema; amounts are u64 on the wire and bigint in
 * TypeScript. Decoding throws `CodecError` with a stable code and nothing else,
 * and `decodeExact` rejects trailing bytes.
 *
 * This module knows no protocol types; schemas live next to their types.
 * @module
 */
import { CodecError } from './errors.js';

export const U64_MAX = (1n << 64n) - 1n;

/** Appends canonical encodings into a growing buffer. */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for n bytes and returns where they go. Call it before reading this.buf/this.view. */
  private reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.len;
    this.len = need;
    return at;
  }

  u8(v: number): this {
    checkUint(v, 0xff, 'u8');
    const at = this.reserve(1);
    this.buf[at] = v;
    return this;
  }

  u16(v: number): this {
    checkUint(v, 0xffff, 'u16');
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
    return this;
  }

  u32(v: number): this {
    checkUint(v, 0xffffffff, 'u32');
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
    return this;
  }

  /** u64 from a bigint in [0, 2^64). */
  u64(v: bigint): this {
    if (typeof v !== 'bigint') throw new TypeError('u64 takes a bigint');
    if (v < 0n || v > U64_MAX) throw new RangeError(`u64 out of range: ${v}`);
    const at = this.reserve(8);
    this.view.setBigUint64(at, v, true);
    return this;
  }

  /** Minimal unsigned LEB128 of a safe integer (lengths, counts, small numbers). */
  varint(v: number): this {
    checkUint(v, Number.MAX_SAFE_INTEGER, 'varint');
    let x = v;
    while (x >= 0x80) {
      const at = this.reserve(1);
      this.buf[at] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    const end = this.reserve(1);
    this.buf[end] = x;
    return this;
  }

  /** Raw bytes of a length fixed by the schema. */
  fixed(bytes: Uint8Array, length: number): this {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('fixed takes a Uint8Array');
    if (bytes.length !== length) throw new RangeError(`expected ${length} bytes, got ${bytes.length}`);
    const at = this.reserve(length);
    this.buf.set(bytes, at);
    return this;
  }

  /** Length-prefixed bytes with a hard limit. */
  bytes(bytes: Uint8Array, maxLength: number): this {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes takes a Uint8Array');
    if (bytes.length > maxLength) throw new RangeError(`bytes longer than ${maxLength}`);
    this.varint(bytes.length);
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }

  /** Count-prefixed list with a hard limit; `each` writes one item. */
  list<T>(items: readonly T[], maxCount: number, each: (w: Writer, item: T) => void): this {
    if (items.length > maxCount) throw new RangeError(`list longer than ${maxCount}`);
    this.varint(items.length);
    for (const it of items) each(this, it);
    return this;
  }

  get length(): number {
    return this.len;
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} takes an integer`);
  if (v < 0 || v > max) throw new RangeError(`${what} out of range: ${v}`);
}

/** Reads canonical encodings; every failure is a CodecError. */
export class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    if (!(buf instanceof Uint8Array)) throw new TypeError('Reader takes a Uint8Array');
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number, what: string): number {
    if (this.remaining < n) {
      throw new CodecError('codec-truncated', `${what}: need ${n} bytes at offset ${this.pos}, have ${this.remaining}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.buf[this.take(1, what)]!;
  }

  u16(what = 'u16'): number {
    return this.view.getUint16(this.take(2, what), true);
  }

  u32(what = 'u32'): number {
    return this.view.getUint32(this.take(4, what), true);
  }

  u64(what = 'u64'): bigint {
    return this.view.getBigUint64(this.take(8, what), true);
  }

  /** Minimal LEB128 varint no larger than `max` (≤ 2^53 − 1). */
  varint(max: number = Number.MAX_SAFE_INTEGER, what = 'varint'): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 8) throw new CodecError('codec-out-of-range', `${what}: varint longer than 8 bytes`);
      const byte = this.buf[this.take(1, what)]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new CodecError('codec-non-minimal', `${what}: varint has a zero final byte`);
        break;
      }
      scale *= 0x80;
    }
    if (value > max) throw new CodecError('codec-oversize', `${what}: ${value} exceeds limit ${max}`);
    return value;
  }

  /**
   * Exactly `length` bytes, as a fresh plain Uint8Array: callers may keep it,
   * and it compares equal whatever the input was (a Node Buffer's own `slice`
   * would return a view of the input, not a copy).
   */
  fixed(length: number, what = 'bytes'): Uint8Array {
    const at = this.take(length, what);
    return new Uint8Array(this.buf.subarray(at, at + length));
  }

  /** Length-prefixed bytes; the length must be minimal and ≤ maxLength. */
  bytes(maxLength: number, what = 'bytes'): Uint8Array {
    const n = this.varint(maxLength, `${what} length`);
    return this.fixed(n, what);
  }

  /** Count-prefixed list of at most `maxCount` items. */
  list<T>(maxCount: number, each: (r: Reader, index: number) => T, what = 'list'): T[] {
    const n = this.varint(maxCount, `${what} count`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this, i));
    return out;
  }

  /** Fails unless every byte was consumed. */
  end(what = 'value'): void {
    if (this.remaining !== 0) {
      throw new CodecError('codec-trailing-bytes', `${what}: ${this.remaining} bytes after the end`);
    }
  }
}

/** Decodes `bytes` with `read` and rejects trailing bytes. */
export function decodeExact<T>(bytes: Uint8Array, read: (r: Reader) => T, what = 'value'): T {
  const r = new Reader(bytes);
  const v = read(r);
  r.end(what);
  return v;
}

/** Encodes with a fresh Writer. */
export function encodeWith(write: (w: Writer) => void, initialSize?: number): Uint8Array {
  const w = new Writer(initialSize);
  write(w);
  return w.finish();
}
