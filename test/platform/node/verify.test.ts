// The node's fast verifier accepts exactly what core's strict verifier
// accepts: the RFC 8032 vectors, the derived strictness cases, the twelve
// ed25519-speccheck cases, and random valid and corrupted signatures.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromHex } from '../../../core/bytes.js';
import { keyPairFromSeed, sign, verify as strict } from '../../../core/keys.js';
import { canonicalEncoding, fastVerifier, SMALL_ORDER_KEYS } from '../../../platform/node/verify.js';

const vec = JSON.parse(readFileSync(new URL('../../vectors/ed25519.json', import.meta.url), 'utf8'));
const fast = fastVerifier();

test('the small-order table is exactly the torsion points noble recognises', () => {
  for (const h of SMALL_ORDER_KEYS) assert.ok(ed25519.Point.fromHex(h).isSmallOrder(), h);
  // A generator of the torsion subgroup reaches all eight, no more.
  const t = ed25519.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa');
  const seen = new Set<string>();
  let q = ed25519.Point.ZERO;
  for (let i = 0; i < 8; i++, q = q.add(t)) seen.add(q.toHex());
  assert.equal([...seen].sort(), [...SMALL_ORDER_KEYS].sort());
});

test('canonical encodings: y < p, and no x = 0 with the sign bit', () => {
  const p = (1n << 255n) - 19n;
  const enc = (y: bigint, sign = 0) => {
    const b = new Uint8Array(32);
    for (let i = 0; i < 32; i++) b[i] = Number((y >> BigInt(8 * i)) & 0xffn);
    if (sign) b[31]! |= 0x80;
    return b;
  };
  assert.ok(canonicalEncoding(enc(p - 1n)));
  assert.not.ok(canonicalEncoding(enc(p)));
  assert.not.ok(canonicalEncoding(enc(p + 5n)));
  assert.ok(canonicalEncoding(enc(1n)));
  assert.not.ok(canonicalEncoding(enc(1n, 1)));
  assert.not.ok(canonicalEncoding(enc(p - 1n, 1)));
  assert.ok(canonicalEncoding(enc(2n, 1)));
});

test('agrees with the strict verifier on every published and derived vector', () => {
  const all = [...vec.rfc8032.vectors, ...vec.derived.vectors, ...vec.speccheck.vectors];
  assert.ok(all.length >= 28);
  for (const v of all) {
    const sig = fromHex(v.signature);
    const msg = fromHex(v.message ?? '');
    const pk = fromHex(v.publicKey);
    assert.is(fast(sig, msg, pk), strict(sig, msg, pk), JSON.stringify(v).slice(0, 120));
  }
  const verdicts = vec.speccheck.vectors.map((v: { signature: string; message: string; publicKey: string }) =>
    fast(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)),
  );
  assert.equal(verdicts, vec.speccheck.vectors.map((v: { strict: boolean }) => v.strict));
});

test('agrees on random signatures, corruptions and garbage', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.nat(255), (seed, msg, at, xor) => {
      const kp = keyPairFromSeed(seed);
      const sig = sign(msg, kp.secretKey);
      assert.ok(fast(sig, msg, kp.publicKey));
      const bad = sig.slice();
      bad[at % 64]! ^= xor || 1;
      assert.is(fast(bad, msg, kp.publicKey), strict(bad, msg, kp.publicKey));
      const badKey = kp.publicKey.slice();
      badKey[at % 32]! ^= xor || 1;
      assert.is(fast(sig, msg, badKey), strict(sig, msg, badKey));
    }),
    { numRuns: 150 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 10 }), (sig, pk, msg) => {
      assert.is(fast(sig, msg, pk), strict(sig, msg, pk));
    }),
    { numRuns: 300 },
  );
});

test.run();
