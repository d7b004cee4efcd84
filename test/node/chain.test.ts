// The chain on an in-memory store: growth, fork choice by work, reorgs that
// return txs, invalid branches refused and the old branch restored, orphans,
// and the header rules' codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../core/bytes.js';
import type { Block } from '../../core/block.js';
import { genesisBlock, networkId } from '../../core/genesis.js';
import { blockId } from '../../core/header.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { genesisState } from '../../core/state-transition.js';
import { signTx, type Tx } from '../../core/tx.js';
import { checkHeaderWork } from '../../core/validate.js';
import { Chain } from '../../node/chain.js';
import { MemoryStore } from './memory-store.js';
import { mineChild } from './fixtures/mine.js';

const base = devnetSpec(1_000_000);
// Trivial targets so blocks mine in a few hashes.
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[2]!;
const nid = networkId(spec);
const alice = keyPairFromSeed(new Uint8Array(32).fill(1));
const bob = keyPairFromSeed(new Uint8Array(32).fill(2));
const carol = keyPairFromSeed(new Uint8Array(32).fill(3));

function setup() {
  const g = genesisBlock(spec, sector);
  const store = new MemoryStore(g, blockId(g.header), genesisState(spec, sector));
  let now = spec.genesisTimeMs;
  const chain = new Chain<string>(store, { spec, sector, networkId: nid, now: () => now });
  return { g, store, chain, advance: (ms: number) => (now += ms), nowRef: () => now };
}

function mine(parent: Block, txs: Tx[] = [], miner = alice, timeMs = parent.header.timeMs + sector.blockTimeMs, extra = 0): Block {
  return mineChild(spec, sector, parent, addressOf(miner.publicKey), txs, timeMs + extra);
}

const pay = (from = alice, nonce = 0n, amount = 1000n, to = bob) =>
  signTx({ version: 1, chain: sector.id, from: from.publicKey, nonce, fee: 10n, payload: { kind: 'transfer', to: addressOf(to.publicKey), amount } }, from.secretKey, nid);

test('a chain grows; rewards and transfers land in state', () => {
  const { g, store, chain, advance } = setup();
  advance(60_000);
  const b1 = mine(g);
  const r1 = chain.accept(b1);
  assert.ok(r1.ok && r1.value.status === 'connected');
  const b2 = mine(b1, [pay()]);
  assert.ok(chain.accept(b2).ok);
  assert.is(chain.tip().height, 2);
  assert.is(store.account(addressOf(bob.publicKey)).balance, 1000n);
  assert.is(store.account(addressOf(alice.publicKey)).nonce, 1n);
  assert.is(store.account(addressOf(alice.publicKey)).balance, 2n * sector.initialSubsidy - 1000n);
  const dup = chain.accept(b2);
  assert.ok(dup.ok && dup.value.status === 'duplicate');
});

test('the heavier branch wins; the reorg returns the losing branch and undoes its state', () => {
  const { g, store, chain, advance } = setup();
  advance(120_000);
  const a1 = mine(g);
  const a2 = mine(a1, [pay()]);
  chain.accept(a1);
  chain.accept(a2);
  const before = store.snapshot();
  // A competing branch from genesis, mined by carol, one block longer.
  const c1 = mine(g, [], carol, g.header.timeMs + sector.blockTimeMs, 1);
  const c2 = mine(c1, [], carol);
  const c3 = mine(c2, [], carol);
  const s1 = chain.accept(c1);
  assert.ok(s1.ok && s1.value.status === 'side');
  const s2 = chain.accept(c2);
  assert.ok(s2.ok && s2.value.status === 'side', 'equal work keeps the first-seen tip');
  const r = chain.accept(c3);
  assert.ok(r.ok && r.value.status === 'connected');
  if (r.ok && r.value.status === 'connected') {
    assert.equal(r.value.disconnected.map((b) => b.block.header.height), [2, 1]);
    assert.equal(r.value.connected.map((b) => b.block.header.height), [1, 2, 3]);
    // The returned block still carries alice's transfer for the mempool.
    assert.is(r.value.disconnected[0]!.block.body.txs.length, 1);
  }
  assert.is(toHex(chain.tip().id), toHex(blockId(c3.header)));
  assert.is(store.account(addressOf(bob.publicKey)).balance, 0n);
  assert.is(store.account(addressOf(carol.publicKey)).balance, 3n * sector.initialSubsidy);
  assert.not.equal(store.snapshot(), before);
});

test('a branch with an invalid block is refused and the old tip restored', () => {
  const { g, store, chain, advance } = setup();
  advance(120_000);
  const a1 = mine(g);
  chain.accept(a1);
  const snapshot = store.snapshot();
  // Bob has nothing: his transfer passes checkBlock but fails the state transition.
  const c1 = mine(g, [], carol, g.header.timeMs + sector.blockTimeMs, 1);
  const c2 = mine(c1, [pay(bob, 0n, 5n, carol)], carol);
  chain.accept(c1);
  const r = chain.accept(c2);
  assert.is(r.ok ? 'ok' : r.code, 'tx-insufficient-funds');
  assert.is(toHex(chain.tip().id), toHex(blockId(a1.header)));
  assert.equal(store.snapshot(), snapshot);
  // Its children are refused too.
  const c3 = mine(c2, [], carol);
  const r3 = chain.accept(c3);
  assert.is(r3.ok ? 'ok' : r3.code, 'bad-prevblk');
});

test('orphans wait for their parent, then connect', () => {
  const { g, chain, advance } = setup();
  advance(120_000);
  const b1 = mine(g);
  const b2 = mine(b1);
  const b3 = mine(b2);
  const o = chain.accept(b3);
  assert.ok(o.ok && o.value.status === 'orphan');
  chain.accept(b2);
  assert.is(chain.orphanBlocks, 2);
  chain.accept(b1);
  assert.is(chain.tip().height, 3);
  assert.is(chain.orphanBlocks, 0);
});

test('every move of the best chain is an event with carried ids and the origin, orphans that connect later included', () => {
  const { g, chain, advance } = setup();
  advance(300_000);
  const moves: { tip: string; connected: string[]; disconnected: string[]; origin?: string }[] = [];
  const hex = (b: { id: Uint8Array }) => toHex(b.id);
  chain.on((e) => {
    // The ids the chain carries are the blocks' ids.
    for (const b of [...e.connected, ...e.disconnected]) assert.is(toHex(b.id), toHex(blockId(b.block.header)));
    moves.push({ tip: toHex(e.tip), connected: e.connected.map(hex), disconnected: e.disconnected.map(hex), ...(e.origin ? { origin: e.origin } : {}) });
  });
  const a1 = mine(g);
  const a2 = mine(a1);
  const a3 = mine(a2);
  const id = (b: Block) => toHex(blockId(b.header));
  assert.ok(chain.accept(a1, { id: blockId(a1.header), origin: 'peer-1' }).ok);
  // a3 waits for a2; when a2 arrives from another peer, both connect, each as its own move with its own origin.
  assert.ok(chain.accept(a3, { origin: 'peer-3' }).ok);
  assert.is(moves.length, 1);
  assert.ok(chain.accept(a2, { origin: 'peer-2' }).ok);
  assert.equal(moves, [
    { tip: id(a1), connected: [id(a1)], disconnected: [], origin: 'peer-1' },
    { tip: id(a2), connected: [id(a2)], disconnected: [], origin: 'peer-2' },
    { tip: id(a3), connected: [id(a3)], disconnected: [], origin: 'peer-3' },
  ]);
  // A heavier branch: one event, the old blocks disconnected tip first, the new ones connected in order.
  const c1 = mine(g, [], bob, g.header.timeMs + 1000);
  const c2 = mine(c1, [], bob);
  const c3 = mine(c2, [], bob);
  const c4 = mine(c3, [], bob);
  for (const b of [c1, c2, c3]) assert.ok(chain.accept(b).ok);
  assert.is(moves.length, 3, 'equal or less work moves nothing');
  assert.ok(chain.accept(c4).ok);
  assert.equal(moves[3], { tip: id(c4), connected: [c1, c2, c3, c4].map(id), disconnected: [a3, a2, a1].map(id) });
});

test('header rules reject with their codes', () => {
  const { g, chain, advance, nowRef } = setup();
  advance(60_000);
  const good = mine(g);
  const tooNew = mine(g, [], alice, nowRef() + spec.limits.maxFutureBlockTimeMs + 1_000);
  assert.is(((r) => (r.ok ? 'ok' : r.code))(chain.accept(tooNew)), 'time-too-new');
  const old = mine(g, [], alice, g.header.timeMs);
  assert.is(((r) => (r.ok ? 'ok' : r.code))(chain.accept(old)), 'time-too-old');
  const badBits = { ...good, header: { ...good.header, bits: 0x2000ffff } };
  let mined = badBits.header;
  while (!checkHeaderWork(mined, sector).ok) mined = { ...mined, nonce: mined.nonce + 1n };
  assert.is(((r) => (r.ok ? 'ok' : r.code))(chain.accept({ ...badBits, header: mined })), 'bad-diffbits');
  assert.ok(chain.accept(good).ok);
});

test.run();
