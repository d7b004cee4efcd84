/**
 * core/keys.ts against RFC 8032 section 7.1, rejection cases derived from it,
 * the ed25519-speccheck edge cases, BIP-350's bech32m strings, and this
 * project's own address vectors.
 *
 * The strictness tests pin verdicts, not implementations: a faster verifier
 * injected later must give the same answer on every vector here, or the chain
 * splits between nodes that use different ones.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js';
import { bech32m } from '@scure/base';
import {
  ADDRESS_BYTES,
  addressOf,
  decodeAddress,
  encodeAddress,
  keyPairFromSeed,
  sign,
  verify,
} from '../../core/keys.js';
import { fromHex, toHex, utf8ToBytes } from '../../core/bytes.js';

function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

interface SignedVector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
interface VerdictVector {
  name?: string;
  case?: number;
  publicKey: string;
  message: string;
  signature: string;
  strict: boolean;
  zip215?: boolean;
  reason: string;
}
interface Ed25519File {
  rfc8032: { source: string; vectors: SignedVector[] };
  derived: { source: string; vectors: (VerdictVector & { derivation: string })[] };
  speccheck: { source: string; vectors: (VerdictVector & { case: number; conditions: string })[] };
}
interface AddressVector {
  seed: string;
  publicKey: string;
  address: string;
  pouw: string;
  tpouw: string;
}
interface AddressFile {
  regression: { source: string; vectors: AddressVector[] };
  bech32m: { source: string; valid: string[]; invalid: { string: string; reason: string }[] };
}

const ED = loadVectors<Ed25519File>('ed25519.json');
const ADDR = loadVectors<AddressFile>('address.json');

function label(v: VerdictVector): string {
  return v.case !== undefined ? `speccheck case ${v.case}` : `${v.name}`;
}

function codeOf(result: ReturnType<typeof decodeAddress>): string {
  return result.ok ? 'ok' : result.code;
}

// --- RFC 8032 ---------------------------------------------------------------

test('RFC 8032 section 7.1: public key, signature and verification', () => {
  assert.is(ED.rfc8032.vectors.length, 5);
  for (const v of ED.rfc8032.vectors) {
    const kp = keyPairFromSeed(fromHex(v.secretKey));
    assert.is(toHex(kp.publicKey), v.publicKey, `${v.name} public key`);
    assert.is(toHex(kp.secretKey), v.secretKey, `${v.name} secret key kept as given`);
    const sig = sign(fromHex(v.message), kp.secretKey);
    assert.is(toHex(sig), v.signature, `${v.name} signature`);
    assert.ok(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)), `${v.name} verifies`);
  }
});

test('RFC 8032 TEST SHA(abc) signs SHA-512("abc")', () => {
  const v = ED.rfc8032.vectors.find((x) => x.name === 'TEST SHA(abc)');
  assert.ok(v);
  assert.is(v.message, toHex(sha512(utf8ToBytes('abc'))));
});

test('RFC 8032 TEST 1024 signs a 1023-byte message', () => {
  const v = ED.rfc8032.vectors.find((x) => x.name === 'TEST 1024');
  assert.ok(v);
  assert.is(fromHex(v.message).length, 1023);
});

test('the seed passed in is copied, not aliased', () => {
  const seed = fromHex(ED.rfc8032.vectors[0]!.secretKey);
  const kp = keyPairFromSeed(seed);
  seed.fill(0);
  assert.is(toHex(kp.secretKey), ED.rfc8032.vectors[0]!.secretKey);
});

// --- strictness -------------------------------------------------------------

test('derived rejection vectors are rejected', () => {
  const derived = ED.derived.vectors;
  assert.ok(derived.length >= 8);
  for (const v of derived) {
    assert.ok(v.derivation.length > 0 && v.reason.length > 0, `${v.name} says how it was made and why`);
    assert.is(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)), v.strict, label(v));
  }
  for (const name of ['S + L', 'non-canonical R (y >= p)', 'non-canonical A (y >= p)', 'wrong message', 'flipped bit in S']) {
    assert.ok(derived.some((v) => v.name === name && v.strict === false), `has a rejected ${name} vector`);
  }
});

test('derived vectors fail for their stated reason, not for being malformed', () => {
  // Under ZIP-215 (permissive encodings) the non-canonical ones verify: so the
  // strict rejection above comes from the encoding rule and nothing else.
  for (const v of ED.derived.vectors) {
    if (v.zip215 === undefined) continue;
    let got: boolean;
    try {
      got = ed25519.verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey), { zip215: true });
    } catch {
      got = false;
    }
    assert.is(got, v.zip215, `${label(v)} under ZIP-215`);
  }
});

test('ed25519-speccheck cases get the strict verdicts', () => {
  assert.is(ED.speccheck.vectors.length, 12);
  for (const v of ED.speccheck.vectors) {
    assert.is(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)), v.strict, label(v));
  }
  const accepted = ED.speccheck.vectors.filter((v) => v.strict).map((v) => v.case);
  assert.equal(accepted, [2, 3, 4, 5]);
});

test('a valid signature fails after any single bit flip of signature, message or key', () => {
  const v = ED.rfc8032.vectors.find((x) => x.name === 'TEST 3')!;
  const fields = [fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)];
  fields.forEach((field, f) => {
    for (let i = 0; i < field.length * 8; i++) {
      const [sig, msg, pk] = fields.map((x) => Uint8Array.from(x)) as [Uint8Array, Uint8Array, Uint8Array];
      const flipped = [sig, msg, pk][f]!;
      flipped[i >> 3] = flipped[i >> 3]! ^ (1 << (i & 7));
      assert.not.ok(verify(sig, msg, pk), `field ${f} bit ${i}`);
    }
  });
});

test('verify never throws, whatever it is given', () => {
  const bytes = fc.uint8Array({ minLength: 0, maxLength: 100 });
  fc.assert(
    fc.property(bytes, bytes, bytes, (sig, msg, pk) => {
      assert.type(verify(sig, msg, pk), 'boolean');
    }),
    { numRuns: 500 },
  );
  // Right lengths, random content: the decoding paths inside the curve code.
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      bytes,
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (sig, msg, pk) => {
        assert.type(verify(sig, msg, pk), 'boolean');
      },
    ),
    { numRuns: 500 },
  );
  const garbage = fc.anything();
  fc.assert(
    fc.property(garbage, garbage, garbage, (sig, msg, pk) => {
      assert.not.ok(verify(sig as Uint8Array, msg as Uint8Array, pk as Uint8Array));
    }),
    { numRuns: 300 },
  );
});

test('key and signing inputs of the wrong shape are programmer errors', () => {
  assert.throws(() => keyPairFromSeed(new Uint8Array(31)), RangeError);
  assert.throws(() => keyPairFromSeed('00' as unknown as Uint8Array), TypeError);
  assert.throws(() => sign(new Uint8Array(1), new Uint8Array(64)), RangeError);
  assert.throws(() => sign('hi' as unknown as Uint8Array, new Uint8Array(32)), TypeError);
});

// --- addresses --------------------------------------------------------------

test('an address is the first 20 bytes of SHA-256(public key)', () => {
  for (const v of ADDR.regression.vectors) {
    const pk = fromHex(v.publicKey);
    assert.is(toHex(addressOf(pk)), toHex(nobleSha256(pk).slice(0, ADDRESS_BYTES)));
  }
  assert.throws(() => addressOf(new Uint8Array(33)), RangeError);
});

test('address regression vectors', () => {
  assert.ok(ADDR.regression.source.startsWith('this project (regression)'));
  for (const v of ADDR.regression.vectors) {
    const kp = keyPairFromSeed(fromHex(v.seed));
    assert.is(toHex(kp.publicKey), v.publicKey);
    const address = addressOf(kp.publicKey);
    assert.is(toHex(address), v.address);
    assert.is(encodeAddress(address, 'pouw'), v.pouw);
    assert.is(encodeAddress(address, 'tpouw'), v.tpouw);
    for (const [text, prefix] of [[v.pouw, 'pouw'], [v.tpouw, 'tpouw']] as const) {
      const back = decodeAddress(text, prefix);
      assert.ok(back.ok, `${text} decodes`);
      if (back.ok) assert.is(toHex(back.value), v.address);
      const upper = decodeAddress(text.toUpperCase(), prefix);
      assert.ok(upper.ok, 'the all-upper-case form is the same address');
    }
  }
});

test('encode and decode round-trip any 20 bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.constantFrom('pouw', 'tpouw', 'x'), (a, prefix) => {
      const back = decodeAddress(encodeAddress(a, prefix), prefix);
      assert.ok(back.ok);
      if (back.ok) assert.is(toHex(back.value), toHex(a));
    }),
    { numRuns: 300 },
  );
});

test('an address under another prefix is refused as address-wrong-prefix', () => {
  const v = ADDR.regression.vectors[0]!;
  assert.is(codeOf(decodeAddress(v.pouw, 'tpouw')), 'address-wrong-prefix');
  assert.is(codeOf(decodeAddress(v.tpouw, 'pouw')), 'address-wrong-prefix');
});

test('any one changed character is refused as address-bad-format', () => {
  const charset = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  for (const v of ADDR.regression.vectors) {
    const text = v.pouw;
    for (let i = text.indexOf('1') + 1; i < text.length; i++) {
      for (const c of charset) {
        if (c === text[i]) continue;
        const changed = text.slice(0, i) + c + text.slice(i + 1);
        assert.is(codeOf(decodeAddress(changed, 'pouw')), 'address-bad-format', `${changed}`);
      }
    }
    // Outside the alphabet, mixed case, a dropped character.
    assert.is(codeOf(decodeAddress(text.slice(0, -1) + 'b', 'pouw')), 'address-bad-format');
    const letter = text.search(/[a-z](?=[^a-z]*$)/); // the last letter, so upper-casing it changes something
    const mixed = text.slice(0, letter) + text[letter]!.toUpperCase() + text.slice(letter + 1);
    assert.is(codeOf(decodeAddress(mixed, 'pouw')), 'address-bad-format', mixed);
    assert.is(codeOf(decodeAddress(text.slice(0, -1), 'pouw')), 'address-bad-format');
  }
  assert.is(codeOf(decodeAddress(42 as unknown as string, 'pouw')), 'address-bad-format');
});

test('a well-formed bech32m string of the wrong length is address-bad-length', () => {
  for (const n of [0, 19, 21, 32]) {
    const text = bech32m.encode('pouw', bech32m.toWords(new Uint8Array(n).fill(3)));
    assert.is(codeOf(decodeAddress(text, 'pouw')), 'address-bad-length', `${n} bytes`);
  }
});

test('encodeAddress refuses bad prefixes and lengths', () => {
  const a = new Uint8Array(20);
  for (const prefix of ['', 'POUW', 'pouw1', 'p-w', 'abcdefghijklmnopq']) {
    assert.throws(() => encodeAddress(a, prefix), RangeError, JSON.stringify(prefix));
  }
  assert.throws(() => encodeAddress(new Uint8Array(21), 'pouw'), RangeError);
  assert.throws(() => encodeAddress([0] as unknown as Uint8Array, 'pouw'), TypeError);
});

test('BIP-350 bech32m strings: the checksum layer agrees, and none is an address', () => {
  assert.is(ADDR.bech32m.valid.length, 7);
  assert.is(ADDR.bech32m.invalid.length, 14);
  for (const s of ADDR.bech32m.valid) {
    assert.not.throws(() => bech32m.decode(s as `${string}1${string}`, 90), `valid: ${s}`);
    // Valid checksums under foreign prefixes: refused for the prefix, not the format.
    assert.is(codeOf(decodeAddress(s, 'pouw')), 'address-wrong-prefix', s);
  }
  for (const { string: s, reason } of ADDR.bech32m.invalid) {
    assert.throws(() => bech32m.decode(s as `${string}1${string}`, 90), undefined, `invalid (${reason}): ${JSON.stringify(s)}`);
    assert.is(codeOf(decodeAddress(s, 'pouw')), 'address-bad-format', `${reason}: ${JSON.stringify(s)}`);
  }
});

test('a bech32 (BIP-173) checksum is not a bech32m checksum', () => {
  // BIP-173's first valid string; BIP-350 lists it as what the old checksum looks like.
  assert.throws(() => bech32m.decode('A12UEL5L', 90));
  assert.is(codeOf(decodeAddress('A12UEL5L', 'a')), 'address-bad-format');
});

test.run();
