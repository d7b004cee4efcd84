import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { bigIntToBytesLE, concatBytes, fromHex } from '../../core/bytes.js';
import { sha256d } from '../../core/hash.js';
import {
  bitsToTarget,
  checkProofOfWork,
  cumulativeWork,
  decodeCompact,
  hashMeetsTarget,
  MAX_UINT256,
  targetToBits,
  TWO_256,
  workForTarget,
} from '../../core/target.js';

interface SetCompactCase {
  bits: string;
  target: string | null;
  getCompact?: string;
  getCompactNegative?: string;
  negative: boolean;
  overflow: boolean;
}
interface Vectors {
  setCompact: { cases: SetCompactCase[] };
  getCompact: { cases: { target: string; bits: string }[] };
  blockProof: { cases: { bits: string; work: string }[] };
  checkProofOfWork: { powLimit: string; overflowBits: string };
  genesis: {
    version: number;
    prevHash: string;
    merkleRoot: string;
    time: number;
    bits: string;
    nonce: number;
    hash: string;
  };
}

const V = JSON.parse(readFileSync(new URL('../vectors/compact.json', import.meta.url), 'utf8')) as Vectors;
const MAIN_POW_LIMIT = BigInt('0x' + V.checkProofOfWork.powLimit);
const u32 = (hex: string): number => Number.parseInt(hex, 16);
const hashOf = (value: bigint): Uint8Array => bigIntToBytesLE(value, 32);
const ONE_HASH = hashOf(1n);

test('SetCompact known answers (Bitcoin Core arith_uint256_tests)', () => {
  assert.ok(V.setCompact.cases.length >= 20);
  for (const c of V.setCompact.cases) {
    const d = decodeCompact(u32(c.bits));
    assert.is(d.negative, c.negative, `${c.bits} negative`);
    assert.is(d.overflow, c.overflow, `${c.bits} overflow`);
    if (c.target !== null) assert.is(d.target, BigInt('0x' + c.target), `${c.bits} value`);
    if (c.getCompact !== undefined) assert.is(targetToBits(d.target), u32(c.getCompact), `${c.bits} GetCompact`);
    if (c.getCompactNegative !== undefined) {
      // GetCompact(true) is GetCompact() with the sign bit set on a non-zero mantissa.
      assert.is((targetToBits(d.target) | 0x00800000) >>> 0, u32(c.getCompactNegative), `${c.bits} GetCompact(true)`);
    }
    const r = bitsToTarget(u32(c.bits));
    if (c.negative) assert.equal(r.ok ? null : r.code, 'bits-negative', c.bits);
    else if (c.overflow) assert.equal(r.ok ? null : r.code, 'bits-overflow', c.bits);
    else if (d.target === 0n) assert.equal(r.ok ? null : r.code, 'bits-zero', c.bits);
    else assert.equal(r, { ok: true, value: d.target }, c.bits);
  }
});

test('GetCompact never sets the sign bit', () => {
  for (const c of V.getCompact.cases) assert.is(targetToBits(BigInt('0x' + c.target)), u32(c.bits));
});

test('GetBlockProof known answers', () => {
  for (const c of V.blockProof.cases) {
    const t = bitsToTarget(u32(c.bits));
    assert.ok(t.ok, c.bits);
    if (t.ok) assert.is(workForTarget(t.value), BigInt(c.work), c.bits);
  }
  assert.is(workForTarget(MAX_UINT256), 1n);
  assert.is(workForTarget(0n), TWO_256);
});

test('the Bitcoin genesis header meets its target, read little-endian', () => {
  const g = V.genesis;
  const le32 = (n: number): Uint8Array => bigIntToBytesLE(BigInt(n), 4);
  const header = concatBytes(
    le32(g.version),
    fromHex(g.prevHash).reverse(),
    fromHex(g.merkleRoot).reverse(),
    le32(g.time),
    le32(u32(g.bits)),
    le32(g.nonce),
  );
  assert.is(header.length, 80);
  const hash = sha256d(header);
  assert.is(Buffer.from(hash).reverse().toString('hex'), g.hash);
  const target = bitsToTarget(u32(g.bits));
  assert.ok(target.ok);
  if (!target.ok) return;
  assert.ok(hashMeetsTarget(hash, target.value));
  assert.equal(checkProofOfWork(hash, u32(g.bits), MAIN_POW_LIMIT), { ok: true, value: undefined });
  // The same bytes read big-endian would be far above the target.
  assert.not.ok(hashMeetsTarget(Uint8Array.from(hash).reverse(), target.value));
});

test('CheckProofOfWork rejections (Bitcoin Core pow_tests, mainnet powLimit)', () => {
  const code = (hash: Uint8Array, bits: number): string | null => {
    const r = checkProofOfWork(hash, bits, MAIN_POW_LIMIT);
    return r.ok ? null : r.code;
  };
  // negative_target: powLimit.GetCompact(true)
  assert.is(code(ONE_HASH, (targetToBits(MAIN_POW_LIMIT) | 0x00800000) >>> 0), 'bad-bits');
  // overflow_target: ~0x00800000
  assert.is(code(ONE_HASH, u32(V.checkProofOfWork.overflowBits)), 'bad-bits');
  // too_easy_target: (powLimit * 2).GetCompact()
  assert.is(code(ONE_HASH, targetToBits(MAIN_POW_LIMIT * 2n)), 'bad-bits');
  // biger_hash_than_target: bits = powLimit.GetCompact(), hash = powLimit * 2
  assert.is(code(hashOf(MAIN_POW_LIMIT * 2n), targetToBits(MAIN_POW_LIMIT)), 'high-hash');
  // zero_target: bits = GetCompact(0), hash = 0
  assert.is(code(hashOf(0n), targetToBits(0n)), 'bad-bits');
  // A hash equal to the target passes; one above fails.
  const t = bitsToTarget(0x1d00ffff);
  assert.ok(t.ok);
  if (!t.ok) return;
  assert.is(code(hashOf(t.value), 0x1d00ffff), null);
  assert.is(code(hashOf(t.value + 1n), 0x1d00ffff), 'high-hash');
});

test('programmer errors throw', () => {
  assert.throws(() => bitsToTarget(-1), RangeError);
  assert.throws(() => bitsToTarget(2 ** 32), RangeError);
  assert.throws(() => bitsToTarget(1.5), TypeError);
  assert.throws(() => targetToBits(-1n), RangeError);
  assert.throws(() => targetToBits(TWO_256), RangeError);
  assert.throws(() => targetToBits(5 as unknown as bigint), TypeError);
  assert.throws(() => hashMeetsTarget(new Uint8Array(31), 1n), RangeError);
  assert.throws(() => workForTarget(-1n), RangeError);
});

// Canonical bits: what targetToBits produces for a non-zero target (size ≤ 32
// and a non-zero mantissa with its top byte non-zero, or a short form).
const canonicalTarget = fc.bigInt({ min: 1n, max: MAX_UINT256 });

test('property: targetToBits rounds down and bitsToTarget inverts it', () => {
  fc.assert(
    fc.property(canonicalTarget, (target) => {
      const bits = targetToBits(target);
      const back = bitsToTarget(bits);
      if (!back.ok) return false;
      // Rounding down keeps the top 23+ significant bits: back ≤ target < back · (1 + 2^-15).
      if (back.value > target) return false;
      if ((target - back.value) * 32768n > back.value) return false;
      return targetToBits(back.value) === bits;
    }),
    { numRuns: 2000 },
  );
});

// Canonical bits, built directly: size s; mantissa with a non-zero top byte
// below 0x80, or (s ≥ 2) a zero top byte over a second byte ≥ 0x80; bytes a
// short size shifts out are zero; the value fits in 256 bits.
const canonicalBits = fc
  .record({
    size: fc.integer({ min: 1, max: 33 }),
    shifted: fc.boolean(),
    hi: fc.integer({ min: 0x01, max: 0x7f }),
    mid: fc.integer({ min: 0x80, max: 0xff }),
    lo: fc.integer({ min: 0, max: 0xffff }),
  })
  .filter(({ size, shifted }) => (shifted ? size >= 2 : size <= 32))
  .map(({ size, shifted, hi, mid, lo }) => {
    let mantissa = shifted ? (mid << 8) | (lo & 0xff) : (hi << 16) | lo;
    const keep = Math.min(size, 3); // mantissa bytes that survive the shift
    mantissa &= 0xffffff & ~((1 << (8 * (3 - keep))) - 1);
    return ((size << 24) | mantissa) >>> 0;
  });

test('property: targetToBits(bitsToTarget(b)) === b for canonical b', () => {
  fc.assert(
    fc.property(canonicalBits, (bits) => {
      const r = bitsToTarget(bits);
      return r.ok && targetToBits(r.value) === bits;
    }),
    { numRuns: 5000 },
  );
});

test('property: any decodable bits re-encode to bits of the same target', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const r = bitsToTarget(bits);
      if (!r.ok) return true;
      const again = targetToBits(r.value);
      // Any decodable bits re-encode to bits that decode to the same target.
      const r2 = bitsToTarget(again);
      return r2.ok && r2.value === r.value && targetToBits(r2.value) === again;
    }),
    { numRuns: 5000 },
  );
});

test('property: work is monotone decreasing in the target and hashMeetsTarget agrees with <=', () => {
  fc.assert(
    fc.property(canonicalTarget, canonicalTarget, (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      if (workForTarget(lo) < workForTarget(hi)) return false;
      return hashMeetsTarget(hashOf(lo), hi) && (lo === hi || !hashMeetsTarget(hashOf(hi), lo));
    }),
    { numRuns: 1000 },
  );
});

test('cumulative work sums block work and refuses invalid bits', () => {
  const genesisWork = cumulativeWork(0n, 0x1d00ffff);
  assert.ok(genesisWork.ok && genesisWork.value === 0x100010001n);
  const two = genesisWork.ok ? cumulativeWork(genesisWork.value, 0x1d00ffff) : genesisWork;
  assert.ok(two.ok && two.value === 2n * 0x100010001n);
  const bad = cumulativeWork(5n, 0x04923456);
  assert.is(bad.ok ? 'ok' : bad.code, 'bits-negative');
});

test.run();
