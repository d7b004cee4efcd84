// Two mining nodes on 127.0.0.1: templates carry the mempool's transfers,
// both miners extend one chain, and both nodes end on the same tip with the
// same balances. Mining runs on the best kernel backend this install has.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../core/bytes.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { signTx } from '../../core/tx.js';
import { directPool } from '../../platform/node/kernel-pool.js';
import { selectKernel } from '../../platform/node/kernels.js';
import { Miner, type MinerEvent } from '../../node/miner.js';
import { SectorNode } from '../../node/sector-node.js';
import { root } from '../kernels/backends.js';
import { until } from '../wait.js';

const base = devnetSpec(Date.now() - 600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[3]!;
const alice = keyPairFromSeed(new Uint8Array(32).fill(21));
const bob = keyPairFromSeed(new Uint8Array(32).fill(22));



test('two miners extend one chain; a transfer is mined and seen by both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-miners-'));
  const { backend } = await selectKernel(root);
  const a = new SectorNode({ spec, sector, dbPath: join(dir, 'a.db') });
  const portA = await a.start();
  const b = new SectorNode({ spec, sector, dbPath: join(dir, 'b.db'), peers: [`ws://127.0.0.1:${portA}`] });
  await b.start();
  const events: MinerEvent[] = [];
  const ma = new Miner(a, directPool(backend, 1), { miner: addressOf(alice.publicKey), batch: 1n << 12n, onEvent: (e) => events.push(e) });
  const mb = new Miner(b, directPool(backend, 1), { miner: addressOf(bob.publicKey), batch: 1n << 12n, onEvent: (e) => events.push(e) });
  try {
    await until(() => a.p2p.peers().length === 1);
    ma.start();
    await until(() => a.chain.tip().height >= 3);
    mb.start();
    await until(() => a.store.account(addressOf(alice.publicKey)).balance > 0n && b.chain.tip().height >= 3);
    const tx = signTx(
      { version: 1, chain: sector.id, from: alice.publicKey, nonce: 0n, fee: 50n, payload: { kind: 'transfer', to: addressOf(bob.publicKey), amount: 777n } },
      alice.secretKey,
      a.networkId,
    );
    assert.ok(b.submitTx(tx).ok);
    await until(() => a.chain.tip().height >= 8);
    await ma.stop();
    await mb.stop();
    // Two miners at a trivial difficulty fork all the time, and equal-work
    // tips never reorg (first seen wins): A alone now mines until both nodes
    // share its tip and the transfer is in it. B's last blocks may still be on
    // their way to A, so A's new block can tie with B's tip: then A mines on.
    for (let round = 0; round < 20; round++) {
      while (!(await ma.mineBatch()));
      const tip = a.chain.tip().id;
      await until(() => b.store.hasBlock(tip));
      await b.blocksIdle();
      if (toHex(b.chain.tip().id) === toHex(tip) && a.store.account(addressOf(alice.publicKey)).nonce === 1n) break;
    }
    assert.is(toHex(b.chain.tip().id), toHex(a.chain.tip().id));
    for (const n of [a, b]) {
      assert.is(n.store.account(addressOf(alice.publicKey)).nonce, 1n);
    }
    assert.is(a.store.account(addressOf(bob.publicKey)).balance, b.store.account(addressOf(bob.publicKey)).balance);
    assert.ok(events.some((e) => e.type === 'found' && e.accepted));
    assert.ok(ma.speed(60_000) > 0);
  } finally {
    await ma.stop();
    await mb.stop();
    await b.stop();
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
