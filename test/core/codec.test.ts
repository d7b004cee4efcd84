import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Reader, Writer, decodeExact, encodeWith, U64_MAX } from '../../core/codec.js';
import { CodecError } from '../../core/errors.js';
import { fromHex, toHex } from '../../core/bytes.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
  throw new Error('expected a CodecError');
}

test('fixed-width integers are little-endian', () => {
  const b = encodeWith((w) => w.u8(0xab).u16(0x1234).u32(0xdeadbeef).u64(0x0102030405060708n));
  assert.is(toHex(b), 'ab' + '3412' + 'efbeadde' + '0807060504030201');
  const r = new Reader(b);
  assert.is(r.u8(), 0xab);
  assert.is(r.u16(), 0x1234);
  assert.is(r.u32(), 0xdeadbeef);
  assert.is(r.u64(), 0x0102030405060708n);
  r.end();
});

test('varints are minimal LEB128', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16384, '808001'],
    [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
  ];
  for (const [v, hex] of cases) {
    assert.is(toHex(encodeWith((w) => w.varint(v))), hex, `encode ${v}`);
    assert.is(decodeExact(fromHex(hex), (r) => r.varint()), v, `decode ${hex}`);
  }
});

test('non-minimal varints are rejected', () => {
  assert.is(codeOf(() => decodeExact(fromHex('8000'), (r) => r.varint())), 'codec-non-minimal');
  assert.is(codeOf(() => decodeExact(fromHex('ff00'), (r) => r.varint())), 'codec-non-minimal');
});

test('trailing bytes, truncation and oversize lengths are coded errors', () => {
  assert.is(codeOf(() => decodeExact(fromHex('0100'), (r) => r.u8())), 'codec-trailing-bytes');
  assert.is(codeOf(() => decodeExact(fromHex('0102'), (r) => r.u32())), 'codec-truncated');
  assert.is(codeOf(() => decodeExact(fromHex('05aabbccddee'), (r) => r.bytes(4))), 'codec-oversize');
  assert.is(codeOf(() => decodeExact(fromHex('03aabb'), (r) => r.bytes(4))), 'codec-truncated');
  assert.is(codeOf(() => decodeExact(fromHex('ffffffffffffffff7f'), (r) => r.varint())), 'codec-out-of-range');
});

test('u64 bounds are enforced on encode', () => {
  assert.is(toHex(encodeWith((w) => w.u64(U64_MAX))), 'ffffffffffffffff');
  assert.throws(() => new Writer().u64(U64_MAX + 1n), RangeError);
  assert.throws(() => new Writer().u64(-1n), RangeError);
  assert.throws(() => new Writer().u32(2 ** 32), RangeError);
  assert.throws(() => new Writer().u8(1.5), TypeError);
});

test('lists and bytes round-trip with limits', () => {
  const items = [fromHex('aa'), fromHex(''), fromHex('bbcc')];
  const b = encodeWith((w) => w.list(items, 3, (w2, it) => w2.bytes(it, 2)));
  assert.is(toHex(b), '03' + '01aa' + '00' + '02bbcc');
  const back = decodeExact(b, (r) => r.list(3, (r2) => r2.bytes(2)));
  assert.equal(back.map(toHex), ['aa', '', 'bbcc']);
  assert.is(codeOf(() => decodeExact(b, (r) => r.list(2, (r2) => r2.bytes(2)))), 'codec-oversize');
  assert.throws(() => new Writer().list(items, 2, () => {}), RangeError);
});

test('the writer grows across its initial size for every field type', () => {
  const w = new Writer(1);
  const big = new Uint8Array(300).fill(7);
  w.u8(1).u16(2).u32(3).u64(4n).varint(300).fixed(big, 300).bytes(big, 300);
  const r = new Reader(w.finish());
  assert.is(r.u8(), 1);
  assert.is(r.u16(), 2);
  assert.is(r.u32(), 3);
  assert.is(r.u64(), 4n);
  assert.is(r.varint(), 300);
  assert.equal(r.fixed(300), big);
  assert.equal(r.bytes(300), big);
  r.end();
});

test.run();
