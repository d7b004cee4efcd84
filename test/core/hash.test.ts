/**
 * core/hash.ts against published known answers: FIPS 180 / NIST CAVP SHA-256
 * digests, real Bitcoin block headers for SHA-256d, and BIP-341's tagged-hash
 * intermediaries for the BIP-340 tag construction.
 *
 * The expected values live in test/vectors/*.json with their sources; nothing
 * here is computed by the code under test and compared with itself. The
 * compact-target helper is local on purpose: it checks the vectors, not
 * core's own difficulty code.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { TAGS, sha256, sha256d, taggedHash } from '../../core/hash.js';
import { bytesToBigIntLE, concatBytes, fromHex, toHex, utf8ToBytes } from '../../core/bytes.js';

function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

interface DigestVector {
  name?: string;
  ascii?: string;
  hex?: string;
  repeat?: string;
  count?: number;
  bits?: number;
  digest: string;
}
interface TaggedVector {
  name: string;
  tag: string;
  parts: string[];
  digest: string;
}
interface Sha256File {
  sets: { name: string; source: string; vectors: (DigestVector | TaggedVector)[] }[];
}
interface HeaderVector {
  height: number;
  header: string;
  hash: string;
  bits: string;
  nonce: number;
  source: string;
}

const SHA = loadVectors<Sha256File>('sha256.json');
const BITCOIN = loadVectors<{ headers: HeaderVector[] }>('sha256d-bitcoin.json');

function setOf(name: string) {
  const set = SHA.sets.find((s) => s.name === name);
  if (set === undefined) throw new Error(`sha256.json has no set ${name}`);
  assert.ok(set.source.length > 0, `set ${name} names its source`);
  return set;
}

function messageOf(v: DigestVector): Uint8Array {
  if (v.ascii !== undefined) return utf8ToBytes(v.ascii);
  if (v.hex !== undefined) return fromHex(v.hex);
  if (v.repeat !== undefined && v.count !== undefined) return utf8ToBytes(v.repeat.repeat(v.count));
  throw new Error('vector has no message');
}

/** Bitcoin's compact target (nBits) as an integer; negative or overflowing forms are vector errors. */
function targetFromBits(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if ((bits & 0x00800000) !== 0) throw new Error(`negative compact target ${bits.toString(16)}`);
  const target = exponent <= 3 ? BigInt(mantissa >>> (8 * (3 - exponent))) : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (target >= 1n << 256n) throw new Error(`compact target overflows 256 bits: ${bits.toString(16)}`);
  return target;
}

/** Display order of a 32-byte hash: the digest read backwards. */
function reversedHex(bytes: Uint8Array): string {
  return toHex(Uint8Array.from(bytes).reverse());
}

for (const name of ['fips-examples', 'cavs-short', 'cavs-long']) {
  test(`SHA-256 ${name} vectors`, () => {
    const set = setOf(name);
    assert.ok(set.vectors.length > 0);
    for (const v of set.vectors as DigestVector[]) {
      const msg = messageOf(v);
      if (v.bits !== undefined) assert.is(msg.length * 8, v.bits, `length field of ${v.hex?.slice(0, 16)}`);
      assert.is(toHex(sha256(msg)), v.digest, v.name ?? `${v.bits} bits`);
    }
  });
}

test('SHA-256 does not keep state between calls', () => {
  const abc = utf8ToBytes('abc');
  const first = toHex(sha256(abc));
  sha256(utf8ToBytes('something else entirely'));
  assert.is(toHex(sha256(abc)), first);
});

test('SHA-256d of real Bitcoin headers is the displayed block hash, reversed', () => {
  assert.ok(BITCOIN.headers.length >= 8);
  for (const v of BITCOIN.headers) {
    const header = fromHex(v.header);
    assert.is(header.length, 80, `height ${v.height} header is 80 bytes`);
    assert.ok(v.source.length > 0, `height ${v.height} names its source`);
    assert.is(reversedHex(sha256d(header)), v.hash, `height ${v.height}`);
    assert.is(toHex(sha256d(header)), toHex(nobleSha256(nobleSha256(header))), `height ${v.height} is SHA-256 twice`);
  }
});

test('the nonce and bits recorded for each header are the ones in it', () => {
  for (const v of BITCOIN.headers) {
    const view = new DataView(fromHex(v.header).buffer);
    assert.is(view.getUint32(76, true), v.nonce, `height ${v.height} nonce`);
    assert.is(view.getUint32(72, true).toString(16).padStart(8, '0'), v.bits, `height ${v.height} bits`);
  }
});

test('each header meets its own target, read as a little-endian integer', () => {
  for (const v of BITCOIN.headers) {
    const work = bytesToBigIntLE(sha256d(fromHex(v.header)));
    assert.ok(work <= targetFromBits(Number.parseInt(v.bits, 16)), `height ${v.height} meets its target`);
  }
});

test('a one-bit change to a header changes its hash and loses the work', () => {
  for (const v of BITCOIN.headers.filter((h) => h.height >= 100000)) {
    const header = fromHex(v.header);
    header[76] = header[76]! ^ 0x01;
    assert.is.not(reversedHex(sha256d(header)), v.hash);
    assert.ok(bytesToBigIntLE(sha256d(header)) > targetFromBits(Number.parseInt(v.bits, 16)), `height ${v.height}`);
  }
});

test('compact targets of known bits', () => {
  // Bitcoin's difficulty-1 target and the genesis bits, as in every implementation.
  assert.is(targetFromBits(0x1d00ffff), 0xffffn << 208n);
  assert.is(targetFromBits(0x17053894), 0x053894n << 160n);
  assert.is(targetFromBits(0x03123456), 0x123456n);
  assert.is(targetFromBits(0x02123456), 0x1234n);
});

test('taggedHash is SHA256(SHA256(tag) || SHA256(tag) || msg)', () => {
  const messages = [new Uint8Array(0), utf8ToBytes('abc'), new Uint8Array(64).fill(7), new Uint8Array(1000).fill(0xa5)];
  for (const tag of [...Object.values(TAGS), 'BIP0340/challenge', '', 'a tag with spaces and ü']) {
    const t = nobleSha256(utf8ToBytes(tag));
    for (const m of messages) {
      const expected = nobleSha256(concatBytes(t, t, m));
      assert.is(toHex(taggedHash(tag, m)), toHex(expected), `tag ${JSON.stringify(tag)}, ${m.length} bytes`);
    }
  }
});

test('taggedHash hashes the concatenation of its parts', () => {
  const a = utf8ToBytes('first part');
  const b = utf8ToBytes('second');
  const whole = toHex(taggedHash(TAGS.txId, concatBytes(a, b)));
  assert.is(toHex(taggedHash(TAGS.txId, a, b)), whole);
  assert.is(toHex(taggedHash(TAGS.txId, a, new Uint8Array(0), b)), whole);
  // The cached midstate is cloned, never consumed: the same call twice agrees.
  assert.is(toHex(taggedHash(TAGS.txId, a, b)), whole);
  assert.is(toHex(taggedHash(TAGS.txId)), toHex(taggedHash(TAGS.txId, new Uint8Array(0))));
});

test('different tags give different hashes of the same message', () => {
  const tags = Object.values(TAGS);
  assert.is(new Set(tags).size, tags.length, 'tags are distinct');
  const msg = utf8ToBytes('same message');
  const digests = tags.map((t) => toHex(taggedHash(t, msg)));
  assert.is(new Set(digests).size, tags.length);
  assert.is.not(toHex(taggedHash(TAGS.txId, msg)), toHex(sha256(msg)), 'a tagged hash is not the plain hash');
});

test('BIP-340 tag construction matches BIP-341 published tagged hashes', () => {
  const set = setOf('bip340-tagged');
  assert.ok(set.vectors.length >= 2);
  for (const v of set.vectors as TaggedVector[]) {
    assert.is(toHex(taggedHash(v.tag, ...v.parts.map(fromHex))), v.digest, v.name);
  }
});

test.run();
