// Matrix commitments and Freivalds' check on every backend: the lottery
// vectors' commitments, and agreement with core/ on random inputs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../core/bytes.js';
import { gemmI8Reference } from '../../core/kernel.js';
import { commitColumns, commitRows } from '../../core/lottery.js';
import { freivalds } from '../../core/freivalds.js';
import { loadAll } from './backends.js';

const { backends } = await loadAll();
const vec = JSON.parse(readFileSync(new URL('../vectors/lottery.json', import.meta.url), 'utf8'));
const int8 = (hex: string) => new Int8Array(fromHex(hex).buffer);

function randomInt8(n: number, seed: number, bound = 64): Int8Array {
  let x = seed >>> 0 || 1;
  return Int8Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % (2 * bound + 1)) - bound;
  });
}

for (const b of backends) {
  test(`${b.name}: commitments of the lottery vectors (rows of A, columns of B)`, async () => {
    for (const v of vec.vectors) {
      assert.is(toHex(await b.commitLines(int8(v.A), v.m, v.k, false)), v.commitA, v.name);
      assert.is(toHex(await b.commitLines(int8(v.B), v.k, v.n, true)), v.commitB, v.name);
    }
  });

  test(`${b.name}: commitments agree with core on odd shapes`, async () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 5],
      [7, 64],
      [33, 17],
    ] as const) {
      const M = randomInt8(rows * cols, rows * 31 + cols);
      assert.is(toHex(await b.commitLines(M, rows, cols, false)), toHex(commitRows(M, rows, cols)));
      assert.is(toHex(await b.commitLines(M, rows, cols, true)), toHex(commitColumns(M, rows, cols)));
    }
  });

  test(`${b.name}: Freivalds accepts the product, catches one wrong entry, agrees with core`, async () => {
    for (const v of vec.vectors) {
      const A = int8(v.A);
      const B = int8(v.B);
      const dims = { m: v.m, k: v.k, n: v.n };
      const C = gemmI8Reference(A, B, dims);
      const seed = fromHex(v.freivalds.seed);
      assert.is(await b.freivalds(A, B, C, dims, seed, v.freivalds.rounds), v.freivalds.product, v.name);
      for (const at of [0, C.length - 1, Math.floor(C.length / 3)]) {
        const bad = C.slice();
        bad[at] = bad[at]! + 1;
        assert.is(await b.freivalds(A, B, bad, dims, seed, 1), false, `${v.name} tampered at ${at}`);
        assert.is(await b.freivalds(A, B, bad, dims, seed, 1), freivalds(A, B, bad, v.m, v.k, v.n, seed, 1));
      }
    }
    let threw = false;
    try {
      const A = new Int8Array(4).fill(65);
      await b.freivalds(A, A, new Int32Array(4), { m: 2, k: 2, n: 2 }, new Uint8Array(32), 1);
    } catch (e) {
      threw = e instanceof RangeError;
    }
    assert.ok(threw, 'entries outside [−64, 64] are refused');
  });
}

test.run();
