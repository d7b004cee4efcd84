// SHA-256d nonce search on every backend: real Bitcoin headers (hash and
// nonce search), our own 104-byte header, wrap-around, cancellation and
// threads, each checked against the JS reference.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { bytesToBigIntLE, fromHex, toHex } from '../../core/bytes.js';
import { sha256d } from '../../core/hash.js';
import { jsBackend, type Sha256dScanJob } from '../../core/kernel.js';
import { bitsToTarget } from '../../core/target.js';
import { loadAll } from './backends.js';

const btc = JSON.parse(readFileSync(new URL('../vectors/sha256d-bitcoin.json', import.meta.url), 'utf8'));
const { backends, missing } = await loadAll();
const js = jsBackend();

test('the native backend is present, or its absence is reported', () => {
  const native = missing.find((m) => m.name === 'native');
  if (process.env.POUW_REQUIRE_NATIVE === '1') assert.not.ok(native, `native required: ${native?.reason}`);
  assert.ok(backends.some((b) => b.name === 'js'));
});

/** Deterministic pseudo-random bytes for test inputs. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function verifyFound(job: Sha256dScanJob, found: bigint[]): void {
  for (const nonce of found) {
    const h = Uint8Array.from(job.header);
    for (let i = 0; i < job.nonceWidth; i++) h[job.nonceOffset + i] = Number((nonce >> BigInt(8 * i)) & 0xffn);
    assert.ok(bytesToBigIntLE(sha256d(h)) <= job.target, `nonce ${nonce} does not meet the target`);
  }
}

for (const b of backends) {
  const name = `${b.name} (${b.capabilities.sha256d})`;

  test(`${name}: SHA-256d of real Bitcoin headers`, () => {
    for (const v of btc.headers) {
      const digest = b.sha256d(fromHex(v.header));
      assert.is(toHex(Uint8Array.from(digest).reverse()), v.hash, `height ${v.height}`);
    }
  });

  test(`${name}: finds the real nonce of Bitcoin headers`, async () => {
    // The JS reference is slow; it checks two headers, the fast backends all.
    const headers = b.name === 'js' ? btc.headers.slice(0, 2) : btc.headers;
    for (const v of headers) {
      const header = fromHex(v.header);
      header.fill(0, 76, 80);
      const t = bitsToTarget(parseInt(v.bits, 16));
      assert.ok(t.ok);
      const span = b.name === 'js' ? 600n : 20_000n;
      const start = BigInt(v.nonce) >= span / 2n ? BigInt(v.nonce) - span / 2n : 0n;
      const job: Sha256dScanJob = { header, nonceOffset: 76, nonceWidth: 4, target: t.ok ? t.value : 0n, start, count: span, threads: 2 };
      const r = await b.sha256dScan(job);
      assert.ok(r.found.includes(BigInt(v.nonce)), `height ${v.height}: nonce ${v.nonce} not found in [${start}, +${span})`);
      assert.is(r.hashesDone, span);
      verifyFound(job, r.found);
    }
  });

  if (b.name !== 'js') {
    test(`${name}: same finds as the reference on our 104-byte header, 8-byte nonce`, async () => {
      for (let seed = 1; seed <= 4; seed++) {
        const job: Sha256dScanJob = {
          header: bytes(104, seed),
          nonceOffset: 96,
          nonceWidth: 8,
          target: (1n << 248n) - 1n, // one hash in 256 wins
          start: BigInt(seed) << 40n,
          count: 3000n,
          maxFound: 100,
        };
        const want = await js.sha256dScan(job);
        const got = await b.sha256dScan(job);
        assert.equal(got.found, want.found, `seed ${seed}`);
        assert.is(got.hashesDone, 3000n);
        const threaded = await b.sha256dScan({ ...job, threads: 2 });
        assert.equal([...threaded.found].sort((x, y) => (x < y ? -1 : 1)), want.found, `seed ${seed}, 2 threads`);
      }
    });

    test(`${name}: headers of 80, 112 and 128 bytes, nonce offsets and wrap-around`, async () => {
      const cases: Sha256dScanJob[] = [
        { header: bytes(80, 7), nonceOffset: 76, nonceWidth: 4, target: (1n << 250n) - 1n, start: (1n << 32n) - 500n, count: 1000n, maxFound: 64 },
        { header: bytes(112, 8), nonceOffset: 100, nonceWidth: 8, target: (1n << 250n) - 1n, start: (1n << 64n) - 300n, count: 600n, maxFound: 64 },
        { header: bytes(128, 9), nonceOffset: 64, nonceWidth: 4, target: (1n << 250n) - 1n, start: 0n, count: 1000n, maxFound: 64 },
        { header: bytes(90, 10), nonceOffset: 80, nonceWidth: 8, target: (1n << 250n) - 1n, start: 12345n, count: 1000n, maxFound: 64 },
      ];
      for (const job of cases) {
        const want = await js.sha256dScan(job);
        const got = await b.sha256dScan(job);
        assert.equal(got.found, want.found, `${job.header.length}-byte header`);
        assert.ok(want.found.length > 0);
      }
    });

    test(`${name}: stopOnFind, maxFound and cancellation`, async () => {
      const job: Sha256dScanJob = { header: bytes(104, 3), nonceOffset: 96, nonceWidth: 8, target: (1n << 252n) - 1n, start: 0n, count: 5000n, maxFound: 3 };
      const all = await js.sha256dScan({ ...job, maxFound: 1000 });
      const capped = await b.sha256dScan(job);
      assert.equal(capped.found, all.found.slice(0, 3));
      const first = await b.sha256dScan({ ...job, stopOnFind: true });
      assert.equal(first.found, all.found.slice(0, 1));
      assert.ok(first.hashesDone < 5000n);
      const cancel = new Int32Array(new SharedArrayBuffer(4));
      cancel[0] = 1;
      const cancelled = await b.sha256dScan({ ...job, count: 1n << 40n, cancel, threads: 2 });
      assert.ok(cancelled.hashesDone < 1n << 20n, `cancelled scan did ${cancelled.hashesDone} hashes`);
    });

    test(`${name}: invalid jobs are rejected before any work`, async () => {
      const bad: Partial<Sha256dScanJob>[] = [{ header: bytes(79, 1) }, { nonceOffset: 60 }, { nonceWidth: 5 as 4 }, { nonceOffset: 100 }];
      for (const over of bad) {
        const job = { header: bytes(104, 1), nonceOffset: 96, nonceWidth: 8 as const, target: 1n, start: 0n, count: 10n, ...over };
        let threw = false;
        try {
          await b.sha256dScan(job);
        } catch (e) {
          threw = e instanceof RangeError || e instanceof TypeError;
        }
        assert.ok(threw, JSON.stringify(Object.keys(over)));
      }
    });
  }
}

test.run();
