import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, concatBytes } from '../../core/bytes.js';
import { sha256d } from '../../core/hash.js';
import {
  blockId,
  decodeHeader,
  encodeHeader,
  headerWithoutNonce,
  HEADER_BYTES,
  NONCE_OFFSET,
  type BlockHeader,
} from '../../core/header.js';
import { CodecError } from '../../core/errors.js';

const vec = JSON.parse(readFileSync(new URL('../vectors/header.json', import.meta.url), 'utf8'));
const parse = (h: any): BlockHeader => ({ ...h, prevHash: fromHex(h.prevHash), bodyRoot: fromHex(h.bodyRoot), nonce: BigInt(h.nonce) });

test('header vectors: encoding and id', () => {
  for (const v of vec.vectors) {
    const h = parse(v.header);
    assert.is(toHex(encodeHeader(h)), v.hex);
    assert.is(toHex(blockId(h)), v.id);
    assert.equal(decodeHeader(fromHex(v.hex)), h);
  }
});

test('layout: fields at their documented offsets, nonce in the second SHA-256 block', () => {
  const h = parse(vec.vectors[1].header);
  const le = (n: bigint, bytes: number) => {
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  const manual = concatBytes(
    le(1n, 4),
    le(BigInt(h.sectorId), 4),
    le(BigInt(h.height), 8),
    h.prevHash,
    h.bodyRoot,
    le(BigInt(h.timeMs), 8),
    le(BigInt(h.bits), 4),
    le(0n, 4),
    le(h.nonce, 8),
  );
  assert.is(manual.length, HEADER_BYTES);
  assert.is(toHex(encodeHeader(h)), toHex(manual));
  assert.is(toHex(blockId(h)), toHex(sha256d(manual)));
  // SHA-256 pads 104 bytes into exactly two 64-byte blocks; the nonce is in the second.
  assert.ok(NONCE_OFFSET >= 64 && HEADER_BYTES + 9 <= 128);
  const zeroed = headerWithoutNonce(h);
  assert.is(toHex(zeroed.subarray(0, NONCE_OFFSET)), toHex(manual.subarray(0, NONCE_OFFSET)));
  assert.is(toHex(zeroed.subarray(NONCE_OFFSET)), '00'.repeat(8));
});

test('decoding rejects wrong sizes and unknown work kinds', () => {
  const good = fromHex(vec.vectors[0].hex);
  const code = (b: Uint8Array) => {
    try {
      decodeHeader(b);
      return 'ok';
    } catch (e) {
      assert.instance(e, CodecError);
      return (e as CodecError).code;
    }
  };
  assert.is(code(good.subarray(0, 103)), 'codec-truncated');
  assert.is(code(concatBytes(good, fromHex('00'))), 'codec-trailing-bytes');
  const badKind = good.slice();
  badKind[92] = 7;
  assert.is(code(badKind), 'codec-bad-enum');
  const bigHeight = good.slice();
  bigHeight.fill(0xff, 8, 16);
  assert.is(code(bigHeight), 'codec-out-of-range');
});

test.run();
