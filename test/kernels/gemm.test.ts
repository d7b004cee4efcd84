// int8 GEMM (exact) and float32 GEMM (within a stated error) on every
// backend, against the references in core/kernel.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gemmF32Reference, gemmI8Reference } from '../../core/kernel.js';
import { loadAll } from './backends.js';

const { backends } = await loadAll();

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function int8(n: number, r: () => number, lo = -127, hi = 127): Int8Array {
  return Int8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 5],
  [17, 64, 33],
  [64, 100, 64],
  [100, 257, 31],
  [33, 1024, 70],
];

for (const b of backends) {
  test(`${b.name} (${b.capabilities.gemmI8}): int8 GEMM is exact on odd shapes and extremes`, async () => {
    const r = rng(7);
    for (const [m, k, n] of b.name === 'js' ? SHAPES.slice(0, 4) : SHAPES) {
      const A = int8(m * k, r);
      const B = int8(k * n, r);
      const got = await b.gemmI8(A, B, { m, k, n, threads: 2 });
      assert.equal(got, gemmI8Reference(A, B, { m, k, n }), `${m}×${k}×${n}`);
    }
    for (const [va, vb] of [
      [127, 127],
      [-127, 127],
      [-128, -128],
    ]) {
      const m = 9, k = 300, n = 21;
      const A = new Int8Array(m * k).fill(va!);
      const B = new Int8Array(k * n).fill(vb!);
      const got = await b.gemmI8(A, B, { m, k, n });
      assert.ok(got.every((v) => v === va! * vb! * k), `all ${va}·${vb}`);
    }
  });

  test(`${b.name} (${b.capabilities.gemmF32}): float32 GEMM within 1e-5·√k of Σ|a·b|`, async () => {
    const r = rng(11);
    for (const [m, k, n] of b.name === 'js' ? SHAPES.slice(0, 4) : SHAPES) {
      const A = Float32Array.from({ length: m * k }, () => r() * 2 - 1);
      const B = Float32Array.from({ length: k * n }, () => r() * 2 - 1);
      const got = await b.gemmF32(A, B, { m, k, n, threads: 2 });
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let exact = 0;
          let scale = 0;
          for (let t = 0; t < k; t++) {
            exact += A[i * k + t]! * B[t * n + j]!;
            scale += Math.abs(A[i * k + t]! * B[t * n + j]!);
          }
          const err = Math.abs(got[i * n + j]! - exact);
          assert.ok(err <= 1e-5 * Math.sqrt(k) * scale, `${m}×${k}×${n} [${i}][${j}]: error ${err} of scale ${scale}`);
        }
      }
    }
  });

  test(`${b.name}: GEMM arguments are checked`, async () => {
    for (const bad of [
      () => b.gemmI8(new Int8Array(6), new Int8Array(6), { m: 2, k: 3, n: 3 }),
      () => b.gemmI8(new Int8Array(6), new Int8Array(9), { m: 2, k: 3, n: 0 }),
      () => b.gemmF32(new Float32Array(6), new Float32Array(6), { m: 2, k: 3, n: 3 }),
    ]) {
      let threw = false;
      try {
        await bad();
      } catch (e) {
        threw = e instanceof RangeError;
      }
      assert.ok(threw);
    }
  });
}

test('the float32 reference sums in k order, rounding at every step', () => {
  const A = Float32Array.of(1e8, 1, -1e8);
  const B = Float32Array.of(1, 1, 1);
  // (1e8 + 1) rounds back to 1e8 in float32, so the ordered sum is 0, not 1.
  assert.equal(gemmF32Reference(A, B, { m: 1, k: 3, n: 1 }), Float32Array.of(0));
});

test.run();
