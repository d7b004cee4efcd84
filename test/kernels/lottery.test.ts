// The int8 matmul lottery on every backend: the regression vectors (tickets,
// winners, recovered product), agreement with the reference on random shapes,
// thread splits, and refusal of out-of-range entries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../core/bytes.js';
import { sha256 } from '../../core/hash.js';
import { jsBackend, type LotteryJob } from '../../core/kernel.js';
import { loadAll } from './backends.js';

const { backends } = await loadAll();
const vec = JSON.parse(readFileSync(new URL('../vectors/lottery.json', import.meta.url), 'utf8'));
const int8 = (hex: string) => new Int8Array(fromHex(hex).buffer);
const productHash = (p: Int32Array) => toHex(sha256(new Uint8Array(p.buffer, p.byteOffset, p.byteLength)));

function randomInt8(n: number, seed: number): Int8Array {
  let x = seed >>> 0 || 1;
  return Int8Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 129) - 64;
  });
}

for (const b of backends) {
  const name = `${b.name} (${b.capabilities.lottery})`;

  test(`${name}: lottery vectors — every ticket, the winners and the recovered product`, async () => {
    for (const v of vec.vectors) {
      const across = v.n / v.config.tileCols;
      const r = await b.lottery({
        A: int8(v.A),
        B: int8(v.B),
        m: v.m,
        k: v.k,
        n: v.n,
        config: v.config,
        seedA: fromHex(v.seedA),
        seedB: fromHex(v.seedB),
        threshold: BigInt('0x' + v.threshold),
        recover: true,
        threads: 2,
      });
      const tickets = Array.from({ length: r.tickets.length / 32 }, (_, i) => toHex(r.tickets.subarray(32 * i, 32 * i + 32)));
      assert.equal(tickets, v.tickets, `${v.name}: tickets`);
      assert.equal(r.winners, v.winners.map((w: { ti: number; tj: number }) => w.ti * across + w.tj), `${v.name}: winners`);
      assert.is(productHash(r.product!), v.productSha256, `${v.name}: product`);
    }
  });

  if (b.name !== 'js') {
    test(`${name}: random shapes agree with the reference, one thread or two`, async () => {
      const js = jsBackend();
      const shapes = [
        { m: 16, k: 70, n: 32, config: { rank: 8, tileRows: 8, tileCols: 16 } },
        { m: 64, k: 256, n: 48, config: { rank: 32, tileRows: 16, tileCols: 16 } },
        { m: 32, k: 33, n: 32, config: { rank: 2, tileRows: 32, tileCols: 8 } },
        { m: 128, k: 512, n: 128, config: { rank: 128, tileRows: 64, tileCols: 64 } },
      ];
      for (const [i, s] of shapes.entries()) {
        const job: LotteryJob = {
          ...s,
          A: randomInt8(s.m * s.k, 3 * i + 1),
          B: randomInt8(s.k * s.n, 3 * i + 2),
          seedA: sha256(new Uint8Array([i, 1])),
          seedB: sha256(new Uint8Array([i, 2])),
          threshold: 1n << 254n,
          recover: true,
        };
        const want = await js.lottery(job);
        for (const threads of [1, 2]) {
          const got = await b.lottery({ ...job, threads });
          assert.is(toHex(got.tickets), toHex(want.tickets), `shape ${i}, ${threads} thread(s): tickets`);
          assert.equal(got.winners, want.winners, `shape ${i}: winners`);
          assert.equal(got.product, want.product, `shape ${i}: product`);
        }
        const noProduct = await b.lottery({ ...job, recover: false });
        assert.is(noProduct.product, undefined);
      }
    });
  }

  test(`${name}: entries outside [−64, 64] and broken shapes are refused`, async () => {
    const base: LotteryJob = {
      A: new Int8Array(16 * 16),
      B: new Int8Array(16 * 16),
      m: 16,
      k: 16,
      n: 16,
      config: { rank: 4, tileRows: 8, tileCols: 8 },
      seedA: new Uint8Array(32),
      seedB: new Uint8Array(32),
      threshold: 1n,
    };
    const bad: LotteryJob[] = [
      { ...base, A: new Int8Array(256).fill(65) },
      { ...base, config: { ...base.config, tileRows: 5 } },
      { ...base, config: { ...base.config, rank: 1 } },
      { ...base, config: { ...base.config, rank: 32 } },
    ];
    for (const [i, job] of bad.entries()) {
      let threw = false;
      try {
        await b.lottery(job);
      } catch (e) {
        threw = e instanceof RangeError;
      }
      assert.ok(threw, `case ${i}`);
    }
  });
}

test.run();
