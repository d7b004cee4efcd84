// Parallel signature verification: the pool's verdicts equal the in-thread
// fast verifier's on random valid and corrupted inputs for every thread count;
// a block with one bad signature among many is refused with tx-bad-signature
// whatever the pool size; the ordered queue keeps order; the signature cache
// only ever answers what the verifier accepted; and the pool shuts down.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { Block } from '../../core/block.js';
import { PouwError } from '../../core/errors.js';
import { genesisBlock, networkId } from '../../core/genesis.js';
import { blockId } from '../../core/header.js';
import { addressOf, keyPairFromSeed, sign, verify as strictVerify } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { genesisState } from '../../core/state-transition.js';
import { signTx, type Tx } from '../../core/tx.js';
import { BlockQueue, blockSignatureChecks } from '../../node/block-queue.js';
import { encodeMainRecord } from '../../core/record.js';
import { Chain } from '../../node/chain.js';
import { cachedVerifier, SignatureCache } from '../../node/sig-cache.js';
import { VerifyPool, type SignatureCheck } from '../../node/verify-pool.js';
import { fastVerifier } from '../../platform/node/verify.js';
import { MemoryStore } from './memory-store.js';
import { mineChild } from './fixtures/mine.js';

const base = devnetSpec(1_000_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[0]!;
const nid = networkId(spec);
const keys = Array.from({ length: 4 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(0x30 + i)));
const fast = fastVerifier();

const POOL_SIZES = [0, 1, 2, 3];

/** Blocks 1–4 pay each key a subsidy; block 5 carries 40 transfers, 10 from each key. */
function fixtureChain(corrupt?: number): Block[] {
  let parent = genesisBlock(spec, sector);
  const blocks: Block[] = [];
  for (const k of keys) {
    parent = mineChild(spec, sector, parent, addressOf(k.publicKey));
    blocks.push(parent);
  }
  const txs: Tx[] = [];
  for (let i = 0; i < 40; i++) {
    const k = keys[i % 4]!;
    const tx = signTx(
      { version: 1, chain: sector.id, from: k.publicKey, nonce: BigInt(Math.floor(i / 4)), fee: 1n, payload: { kind: 'transfer', to: addressOf(keys[(i + 1) % 4]!.publicKey), amount: 100n + BigInt(i) } },
      k.secretKey,
      nid,
    );
    if (i === corrupt) {
      const signature = Uint8Array.from(tx.signature);
      signature[5]! ^= 0x10;
      txs.push({ ...tx, signature });
    } else {
      txs.push(tx);
    }
  }
  blocks.push(mineChild(spec, sector, parent, addressOf(keys[0]!.publicKey), txs));
  return blocks;
}

/** Feeds `blocks` through the ordered queue (pool of `threads`) into a fresh chain; returns each result. */
async function runQueue(blocks: Block[], threads: number) {
  const g = genesisBlock(spec, sector);
  const store = new MemoryStore(g, blockId(g.header), genesisState(spec, sector));
  const cache = new SignatureCache();
  const chain = new Chain(store, { spec, sector, networkId: nid, now: () => spec.genesisTimeMs + 3_600_000, verify: cachedVerifier(cache, fast, { erase: true }) });
  const pool = new VerifyPool({ threads, chunk: 4 });
  const results: { height: number; code: string; detail: string }[] = [];
  const queue = new BlockQueue<Block>({
    networkId: nid,
    cache,
    pool,
    blockOf: (b) => b,
    accept: (b) => {
      const r = chain.accept(b);
      results.push({ height: b.header.height, code: r.ok ? r.value.status : r.code, detail: r.ok ? '' : r.detail });
    },
  });
  for (const b of blocks) queue.push(b);
  await queue.idle();
  const counts = { ...pool.counts };
  await pool.close();
  return { results, chain, counts, cache };
}

test('a block with one bad signature among 40 is refused with tx-bad-signature on every pool size', async () => {
  const bad = fixtureChain(23);
  const good = fixtureChain();
  for (const threads of POOL_SIZES) {
    const r = await runQueue(bad, threads);
    assert.equal(r.results.slice(0, 4).map((x) => x.code), ['connected', 'connected', 'connected', 'connected'], `threads ${threads}`);
    assert.is(r.results[4]!.code, 'tx-bad-signature', `threads ${threads}`);
    assert.match(r.results[4]!.detail, /^tx 23:/);
    assert.is(r.chain.tip().height, 4);
    const ok = await runQueue(good, threads);
    assert.is(ok.results[4]!.code, 'connected', `threads ${threads}`);
    assert.is(ok.chain.tip().height, 5);
    if (threads > 0) {
      // The pool did the verifying and the chain's lookups all hit the cache.
      assert.is(ok.counts.main + ok.counts.workers, 40);
      assert.is(ok.cache.hits >= 40, true);
    }
  }
});

test('the checks made ahead of a block include its recorded MAIN txs, verified with the same message the chain uses', () => {
  const k = keys[1]!;
  const mainTx = signTx({ version: 1, chain: 0, from: k.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20), amount: 1n } }, k.secretKey, nid);
  const b = fixtureChain().at(-1)!;
  const withRecord: Block = { ...b, body: { ...b.body, mainRecords: [encodeMainRecord({ window: 1, tx: mainTx }), new Uint8Array([9])] } };
  const checks = blockSignatureChecks(withRecord, nid);
  assert.is(checks.length, b.body.txs.length + 1, 'every tx and the decodable record');
  const last = checks.at(-1)!;
  assert.equal(last.publicKey, k.publicKey);
  assert.ok(strictVerify(last.signature, last.message, last.publicKey));
});

test('pool verdicts equal the in-thread verifier on random valid and corrupted inputs', async () => {
  const signers = Array.from({ length: 6 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(0x60 + i)));
  const check = fc.record({
    signer: fc.nat(5),
    message: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    // 0 valid; 1 signature bit; 2 message bit; 3 key bit; 4 other signer's key; 5 message of another length.
    corruption: fc.nat(5),
    at: fc.nat(),
    bit: fc.nat(7),
  });
  const build = (c: { signer: number; message: Uint8Array; corruption: number; at: number; bit: number }): SignatureCheck => {
    const kp = signers[c.signer]!;
    let signature = sign(c.message, kp.secretKey);
    let message = c.message;
    let publicKey = kp.publicKey;
    const flip = (b: Uint8Array) => {
      const out = Uint8Array.from(b);
      out[c.at % out.length]! ^= 1 << c.bit;
      return out;
    };
    if (c.corruption === 1) signature = flip(signature);
    if (c.corruption === 2) message = flip(message);
    if (c.corruption === 3) publicKey = flip(publicKey);
    if (c.corruption === 4) publicKey = signers[(c.signer + 1) % 6]!.publicKey;
    if (c.corruption === 5) message = Uint8Array.of(...c.message, 1);
    return { signature, message, publicKey };
  };
  for (const threads of [1, 2, 3]) {
    const pool = new VerifyPool({ threads, chunk: 3 });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(check, { maxLength: 60 }), async (cs) => {
          const items = cs.map(build);
          const got = await pool.verifyAll(items);
          const want = items.map((it) => fast(it.signature, it.message, it.publicKey));
          assert.equal(got, want);
          assert.equal(want, items.map((it) => strictVerify(it.signature, it.message, it.publicKey)));
        }),
        { numRuns: 40 },
      );
      assert.ok(pool.counts.workers > 0, `threads ${threads}: the workers verified nothing`);
    } finally {
      await pool.close();
    }
  }
});

test('the pool shuts down: a running job finishes on the calling thread, new jobs are refused', async () => {
  const kp = keys[0]!;
  const items: SignatureCheck[] = Array.from({ length: 300 }, (_, i) => {
    const message = new Uint8Array(32).fill(i & 0xff);
    const signature = sign(message, kp.secretKey);
    if (i % 7 === 0) signature[0]! ^= 1;
    return { signature, message, publicKey: kp.publicKey };
  });
  const pool = new VerifyPool({ threads: 2, chunk: 2 });
  assert.is(pool.threads, 2);
  const job = pool.start(items);
  await pool.close();
  assert.is(pool.threads, 0);
  const got = await job.finish();
  assert.equal(got, items.map((_, i) => i % 7 !== 0));
  try {
    pool.start(items);
    assert.unreachable('a closed pool took a job');
  } catch (e) {
    assert.instance(e, PouwError);
    assert.is((e as PouwError).code, 'pool-closed');
  }
  await pool.close();
});

test('the queue accepts in push order, waits for idle, and drops what is queued on close', async () => {
  const blocks = fixtureChain();
  for (const threads of [0, 2]) {
    const pool = new VerifyPool({ threads });
    const seen: number[] = [];
    const queue = new BlockQueue<Block>({ networkId: nid, cache: new SignatureCache(), pool, blockOf: (b) => b, accept: (b) => seen.push(b.header.height) });
    for (const b of [...blocks].reverse()) queue.push(b);
    assert.equal(seen, [], 'nothing is accepted inside push');
    await queue.idle();
    assert.equal(seen, [5, 4, 3, 2, 1]);
    for (const b of blocks) queue.push(b);
    await queue.close();
    queue.push(blocks[0]!);
    await queue.idle();
    assert.is(seen.length, 5, 'nothing queued before close was accepted after it');
    await pool.close();
  }
});

test('the queue runs each batch in one transaction and reports a failing accept without stopping', async () => {
  const blocks = fixtureChain();
  const seen: number[] = [];
  const errors: unknown[] = [];
  let transactions = 0;
  const queue = new BlockQueue<Block>({
    networkId: nid,
    cache: new SignatureCache(),
    blockOf: (b) => b,
    accept: (b) => {
      if (b.header.height === 2) throw new Error('boom');
      seen.push(b.header.height);
    },
    transaction: (fn) => {
      transactions++;
      fn();
    },
    onError: (e) => errors.push(e),
    maxBatchBlocks: 2,
  });
  for (const b of blocks) queue.push(b);
  await queue.idle();
  assert.equal(seen, [1, 3, 4, 5]);
  assert.is(errors.length, 1);
  assert.is(transactions, 3);
});

test('the signature cache answers only what the verifier accepted, erases on request, and stays bounded', () => {
  const kp = keys[1]!;
  const msg = new Uint8Array(32).fill(9);
  const sig = sign(msg, kp.secretKey);
  const bad = Uint8Array.from(sig);
  bad[63]! ^= 0x40;
  const cache = new SignatureCache(3);
  let calls = 0;
  const counting = (s: Uint8Array, m: Uint8Array, p: Uint8Array) => (calls++, fast(s, m, p));
  const admit = cachedVerifier(cache, counting);
  const block = cachedVerifier(cache, counting, { erase: true });
  assert.ok(admit(sig, msg, kp.publicKey));
  assert.not.ok(admit(bad, msg, kp.publicKey));
  assert.is(cache.size, 1, 'failures are not cached');
  assert.not.ok(block(bad, msg, kp.publicKey));
  assert.is(calls, 3, 'a failure is verified every time');
  assert.ok(block(sig, msg, kp.publicKey));
  assert.is(calls, 3, 'a cached success costs no verification');
  assert.is(cache.size, 0, 'block validation erased the entry');
  // The same bytes split differently are a different entry.
  cache.add(sig, msg, kp.publicKey);
  assert.not.ok(cache.has(sig.subarray(0, 63), Uint8Array.of(sig[63]!, ...msg), kp.publicKey));
  // Bounded: the oldest entry goes first.
  for (let i = 0; i < 5; i++) cache.add(sig, new Uint8Array(32).fill(i), kp.publicKey);
  assert.is(cache.size, 3);
  assert.not.ok(cache.has(sig, msg, kp.publicKey));
  assert.ok(cache.has(sig, new Uint8Array(32).fill(4), kp.publicKey));
  assert.not.ok(cache.has(sig, new Uint8Array(32).fill(1), kp.publicKey));
});

test.run();
