// The chain on the real SQLite store: a reorg moves the persisted state, and a
// reopened store continues from the same tip with the same balances.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../core/bytes.js';
import type { Block } from '../../core/block.js';
import { genesisBlock, networkId } from '../../core/genesis.js';
import { blockId } from '../../core/header.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { genesisState } from '../../core/state-transition.js';
import { signTx } from '../../core/tx.js';
import { Chain } from '../../node/chain.js';
import { openStore } from '../../node/store.js';
import { mineChild } from './fixtures/mine.js';

const base = devnetSpec(1_000_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[0]!;
const nid = networkId(spec);
const alice = keyPairFromSeed(new Uint8Array(32).fill(1));
const bob = keyPairFromSeed(new Uint8Array(32).fill(2));

function mine(parent: Block, miner = alice, txs: Block['body']['txs'] = [], skew = 0): Block {
  return mineChild(spec, sector, parent, addressOf(miner.publicKey), txs, parent.header.timeMs + sector.blockTimeMs + skew);
}

test('reorg persisted in SQLite survives a reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-chain-'));
  try {
    const path = join(dir, 'chain.db');
    const g = genesisBlock(spec, sector);
    let store = openStore(path, { limits: spec.limits });
    store.initGenesis(g, blockId(g.header), genesisState(spec, sector));
    const now = () => spec.genesisTimeMs + 600_000;
    let chain = new Chain(store, { spec, sector, networkId: nid, now });
    const a1 = mine(g);
    const pay = signTx(
      { version: 1, chain: sector.id, from: alice.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to: addressOf(bob.publicKey), amount: 7n } },
      alice.secretKey,
      nid,
    );
    const a2 = mine(a1, alice, [pay]);
    assert.ok(chain.accept(a1).ok && chain.accept(a2).ok);
    assert.is(store.account(addressOf(bob.publicKey)).balance, 7n);
    const b1 = mine(g, bob, [], 1);
    const b2 = mine(b1, bob);
    const b3 = mine(b2, bob);
    for (const b of [b1, b2, b3]) assert.ok(chain.accept(b).ok);
    assert.is(toHex(chain.tip().id), toHex(blockId(b3.header)));
    const bobBalance = store.account(addressOf(bob.publicKey)).balance;
    assert.is(bobBalance, 3n * sector.initialSubsidy);
    store.close();

    store = openStore(path, { limits: spec.limits });
    chain = new Chain(store, { spec, sector, networkId: nid, now });
    assert.is(toHex(chain.tip().id), toHex(blockId(b3.header)));
    assert.is(store.account(addressOf(bob.publicKey)).balance, bobBalance);
    assert.is(store.account(addressOf(alice.publicKey)).balance, 0n);
    assert.ok(chain.accept(mine(b3)).ok);
    assert.is(chain.tip().height, 4);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
