// Two sector nodes on 127.0.0.1 with real WebSockets and SQLite: headers-first
// sync of a chain mined before the second node came up, tx gossip into the
// miner's mempool, and block relay to the same tip and balances.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../core/bytes.js';
import type { PouwError } from '../../core/errors.js';
import { genesisBlock } from '../../core/genesis.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { signTx, txId as txIdOf } from '../../core/tx.js';
import { SectorNode } from '../../node/sector-node.js';
import { mineChild } from './fixtures/mine.js';
import { until } from '../wait.js';

const base = devnetSpec(Date.now() - 3_600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[1]!;
const miner = keyPairFromSeed(new Uint8Array(32).fill(7));
const user = keyPairFromSeed(new Uint8Array(32).fill(8));


test('a late node syncs headers-first; txs and blocks gossip both ways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-nodes-'));
  const a = new SectorNode({ spec, sector, dbPath: join(dir, 'a.db') });
  let b: SectorNode | undefined;
  try {
    const portA = await a.start();
    // A mines 30 blocks alone.
    let parent = genesisBlock(spec, sector);
    for (let i = 0; i < 30; i++) {
      const block = mineChild(spec, sector, parent, addressOf(miner.publicKey));
      assert.ok(a.submitBlock(block));
      parent = block;
    }
    assert.is(a.chain.tip().height, 30);

    b = new SectorNode({ spec, sector, dbPath: join(dir, 'b.db'), peers: [`ws://127.0.0.1:${portA}`] });
    await b.start();
    await until(() => b!.chain.tip().height === 30);
    assert.is(toHex(b.chain.tip().id), toHex(a.chain.tip().id));

    // A tx sent to B reaches A's mempool; A mines it; B connects that block.
    const tx = signTx(
      { version: 1, chain: sector.id, from: miner.publicKey, nonce: 0n, fee: 100n, payload: { kind: 'transfer', to: addressOf(user.publicKey), amount: 12345n } },
      miner.secretKey,
      a.networkId,
    );
    const sent = b.submitTx(tx);
    assert.ok(sent.ok, JSON.stringify(sent));
    await until(() => a.mempool.size === 1);
    const txs = a.mempool.selectForBlock(a.store, 100, 1 << 20);
    const block = mineChild(spec, sector, parent, addressOf(miner.publicKey), txs);
    const accepted = a.submitBlock(block);
    assert.ok(accepted && accepted.status === 'connected');
    await until(() => b!.chain.tip().height === 31);
    assert.is(b.store.account(addressOf(user.publicKey)).balance, 12345n);
    assert.is(a.store.account(addressOf(user.publicKey)).balance, 12345n);
    assert.is(b.mempool.size, 0);
    assert.is(a.mempool.size, 0);
  } finally {
    await b?.stop();
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});


test('partitioned nodes converge on the heavier branch after healing; orphaned txs return to the mempool', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-partition-'));
  const a = new SectorNode({ spec, sector, dbPath: join(dir, 'a.db') });
  const c = new SectorNode({ spec, sector, dbPath: join(dir, 'c.db') });
  let b: SectorNode | undefined;
  try {
    const portA = await a.start();
    b = new SectorNode({ spec, sector, dbPath: join(dir, 'b.db'), peers: [`ws://127.0.0.1:${portA}`] });
    await b.start();
    await c.start();
    await until(() => a.p2p.peers().length === 1);

    // Side A/B: 3 blocks, the second carrying a transfer.
    let pa = genesisBlock(spec, sector);
    const tx = signTx(
      { version: 1, chain: sector.id, from: miner.publicKey, nonce: 0n, fee: 5n, payload: { kind: 'transfer', to: addressOf(user.publicKey), amount: 99n } },
      miner.secretKey,
      a.networkId,
    );
    for (let i = 0; i < 3; i++) {
      pa = mineChild(spec, sector, pa, addressOf(miner.publicKey), i === 1 ? [tx] : []);
      a.submitBlock(pa);
    }
    await until(() => b!.chain.tip().height === 3);
    assert.is(b.store.account(addressOf(user.publicKey)).balance, 99n);

    // Side C alone: 5 blocks (more work), with times skewed so its blocks differ.
    let pc = genesisBlock(spec, sector);
    for (let i = 0; i < 5; i++) {
      pc = mineChild(spec, sector, pc, addressOf(miner.publicKey), [], pc.header.timeMs + sector.blockTimeMs + 1);
      c.submitBlock(pc);
    }

    // Heal: C dials A.
    c.p2p.connect(`ws://127.0.0.1:${portA}`);
    await until(() => a.chain.tip().height === 5 && b!.chain.tip().height === 5);
    for (const n of [a, b]) assert.is(toHex(n.chain.tip().id), toHex(c.chain.tip().id));
    // The transfer's block was disconnected: its tx is pending again where it had been mined.
    assert.is(a.store.account(addressOf(user.publicKey)).balance, 0n);
    assert.ok(a.mempool.has(toHex(txIdOf(tx))));
  } finally {
    await b?.stop();
    await c.stop();
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a store holding another chain's genesis is refused with a clear error, not misread", () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-other-'));
  try {
    const db = join(dir, 'n.db');
    new SectorNode({ spec, sector, dbPath: db, verifyThreads: 0 }).store.close();
    const other = spec.sectors[2]!;
    try {
      new SectorNode({ spec, sector: other, dbPath: db, verifyThreads: 0 });
      assert.unreachable('opened');
    } catch (e) {
      assert.is((e as PouwError).code, 'store-other-chain');
      assert.match((e as Error).message, /use another data directory/);
    }
    // The store is untouched: its own sector opens it again.
    const again = new SectorNode({ spec, sector, dbPath: db, verifyThreads: 0 });
    assert.is(again.chain.tip().height, 0);
    again.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
