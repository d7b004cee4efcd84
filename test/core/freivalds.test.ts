import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fromHex, utf8ToBytes } from '../../core/bytes.js';
import { freivalds, freivaldsEntryBits } from '../../core/freivalds.js';
import { sha256 } from '../../core/hash.js';

const vec = JSON.parse(readFileSync(new URL('../vectors/lottery.json', import.meta.url), 'utf8'));

function product(A: Int8Array, B: Int8Array, m: number, k: number, n: number): Int32Array {
  const out = new Int32Array(m * n);
  for (let i = 0; i < m; i++) for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) out[i * n + j] += A[i * k + t]! * B[t * n + j]!;
  return out;
}

const entry = fc.integer({ min: -64, max: 64 });
const caseArb = fc
  .record({ m: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 9 }) })
  .chain(({ m, k, n }) =>
    fc.record({
      m: fc.constant(m),
      k: fc.constant(k),
      n: fc.constant(n),
      A: fc.array(entry, { minLength: m * k, maxLength: m * k }).map((a) => Int8Array.from(a)),
      B: fc.array(entry, { minLength: k * n, maxLength: k * n }).map((b) => Int8Array.from(b)),
      seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      at: fc.nat(),
      delta: fc.integer({ min: -1000, max: 1000 }).filter((d) => d !== 0),
    }),
  );

test('a correct product passes', () => {
  fc.assert(
    fc.property(caseArb, ({ m, k, n, A, B, seed }) => freivalds(A, B, product(A, B, m, k, n), m, k, n, seed, 3)),
    { numRuns: 200 },
  );
});

test('a single wrong entry is always caught, in one round', () => {
  fc.assert(
    fc.property(caseArb, ({ m, k, n, A, B, seed, at, delta }) => {
      const C = product(A, B, m, k, n);
      C[at % C.length]! += delta;
      return !freivalds(A, B, C, m, k, n, seed, 1);
    }),
    { numRuns: 300 },
  );
});

test('random wrong products are caught', () => {
  fc.assert(
    fc.property(caseArb, fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 81, maxLength: 81 }), ({ m, k, n, A, B, seed }, noise) => {
      const C = product(A, B, m, k, n);
      let changed = false;
      for (let x = 0; x < C.length; x++) {
        C[x]! += noise[x]!;
        changed ||= noise[x] !== 0;
      }
      return freivalds(A, B, C, m, k, n, seed, 8) === !changed;
    }),
    { numRuns: 200 },
  );
});

test('entries too large to be a product fail; shapes and ranges are checked', () => {
  const A = new Int8Array(4).fill(64);
  const B = new Int8Array(4).fill(64);
  const seed = sha256(utf8ToBytes('f'));
  const C = product(A, B, 2, 2, 2);
  assert.ok(freivalds(A, B, C, 2, 2, 2, seed, 1));
  const huge = C.slice();
  huge[0] = 2 ** 31 - 1;
  assert.not.ok(freivalds(A, B, huge, 2, 2, 2, seed, 1));
  assert.throws(() => freivalds(A, B, C, 2, 2, 3, seed, 1), RangeError);
  assert.throws(() => freivalds(A, B, C, 2, 2, 2, seed, 0), RangeError);
  assert.throws(() => freivalds(A, B, C, 2, 2, 2, seed.subarray(1), 1), RangeError);
  assert.throws(() => freivalds(Int8Array.of(65, 0, 0, 0), B, C, 2, 2, 2, seed, 1), RangeError);
  assert.throws(() => freivalds(A, B, Array.from(C) as unknown as Int32Array, 2, 2, 2, seed, 1), TypeError);
});

test('entry width keeps every sum below 2^53', () => {
  assert.is(freivaldsEntryBits(1, 1), 20);
  assert.is(freivaldsEntryBits(1024, 1024), 20); // 1024³: 2^10·2^10·2^12·2^20 = 2^52
  assert.is(freivaldsEntryBits(4096, 4096), 16);
  assert.is(freivaldsEntryBits(2 ** 20, 2 ** 19), 1);
  assert.throws(() => freivaldsEntryBits(2 ** 20, 2 ** 20), RangeError);
  for (const [k, n] of [
    [1, 1],
    [1000, 3],
    [1024, 1024],
    [65536, 4096],
    [3000, 5000],
  ]) {
    const e = freivaldsEntryBits(k!, n!);
    assert.ok(k! * n! * 4096 * 2 ** e <= 2 ** 52, `${k}×${n}`);
  }
});

test('lottery vectors: Freivalds outcomes', () => {
  for (const v of vec.vectors) {
    const { m, k, n } = v;
    const A = new Int8Array(fromHex(v.A).buffer);
    const B = new Int8Array(fromHex(v.B).buffer);
    const C = product(A, B, m, k, n);
    const seed = fromHex(v.freivalds.seed);
    assert.is(freivalds(A, B, C, m, k, n, seed, v.freivalds.rounds), v.freivalds.product);
    C[v.freivalds.tamperedIndex]! += v.freivalds.tamperedDelta;
    assert.is(freivalds(A, B, C, m, k, n, seed, v.freivalds.rounds), v.freivalds.tampered);
  }
});

test.run();
