// Headers first, and what a flood of unconnectable blocks costs: the chain
// judges headers before any block is kept (unconnected → nothing stored,
// too little work → not fetched, a gap inside a run → malformed), the orphan
// pool holds a byte budget in total and per origin and a flooder evicts its
// own blocks first, and a whole node sent hundreds of big blocks whose parent
// it does not know keeps none of them, asks for headers instead, and drops
// the sender.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bodyRoot, emptyBody, encodeBlock, type Block } from '../../core/block.js';
import { genesisBlock, networkId } from '../../core/genesis.js';
import { blockId } from '../../core/header.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { genesisState } from '../../core/state-transition.js';
import { signTx, type Tx } from '../../core/tx.js';
import { checkHeaderWork } from '../../core/validate.js';
import { Chain } from '../../node/chain.js';
import { SectorNode } from '../../node/sector-node.js';
import { MAX_UNCONNECTING } from '../../node/sync.js';
import { MemoryStore } from './memory-store.js';
import { mineChild } from './fixtures/mine.js';
import { rawPeer } from './fixtures/raw-peer.js';
import { until } from '../wait.js';

const base = devnetSpec(Date.now() - 3_600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[2]!;
const nid = networkId(spec);
const alice = keyPairFromSeed(new Uint8Array(32).fill(7));
const miner = addressOf(alice.publicKey);

function setup(opts: { maxOrphanBytes?: number; maxOrphanBytesPerOrigin?: number } = {}) {
  const g = genesisBlock(spec, sector);
  const store = new MemoryStore(g, blockId(g.header), genesisState(spec, sector));
  const chain = new Chain<string>(store, { spec, sector, networkId: nid, now: () => Date.now(), ...opts });
  return { g, store, chain };
}

/** `n` blocks on `parent`, each mined in turn. */
function mineRun(parent: Block, n: number, by = miner): Block[] {
  const out: Block[] = [];
  for (let i = 0; i < n; i++) out.push((parent = mineChild(spec, sector, parent, by)));
  return out;
}

/** A block at the easiest bits whose parent nobody has, carrying `txs`; only its proof of work holds. */
function unconnectable(seed: number, txs: Tx[]): Block {
  const body = { ...emptyBody(miner), txs };
  let header = {
    version: 1,
    sectorId: sector.id,
    height: 1000 + seed,
    prevHash: new Uint8Array(32).fill(seed % 251 + 1),
    bodyRoot: bodyRoot(body),
    timeMs: Date.now(),
    bits: sector.powLimitBits,
    workKind: 'hash' as const,
    nonce: 0n,
  };
  while (!checkHeaderWork(header, sector).ok) header = { ...header, nonce: header.nonce + 1n };
  return { header, body, workProof: new Uint8Array(0) };
}

const junkTxs = (n: number): Tx[] => {
  const one = signTx({ version: 1, chain: sector.id, from: alice.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to: miner, amount: 1n } }, alice.secretKey, nid);
  return Array.from({ length: n }, (_, i) => ({ ...one, nonce: BigInt(i) }));
};

test('headers that do not connect are not kept; a run that connects is, and its blocks then connect', () => {
  const { g, chain, store } = setup();
  const run = mineRun(g, 5);
  const loose = chain.acceptHeaders(run.slice(1).map((b) => b.header));
  assert.ok(loose.ok && loose.value.status === 'unconnected');
  assert.is(chain.pendingHeaders, 0);
  const r = chain.acceptHeaders(run.map((b) => b.header));
  assert.ok(r.ok && r.value.status === 'connected');
  assert.is(r.value.ids.length, 5);
  assert.is(chain.pendingHeaders, 5);
  for (const b of run) assert.ok(chain.accept(b).ok);
  assert.is(chain.tip().height, 5);
  assert.is(chain.pendingHeaders, 0, 'a stored block leaves the pending headers');
  assert.ok(store.hasBlock(blockId(run[4]!.header)));
});

test('a gap inside a run of headers is malformed; a bad header refuses the run and keeps none of it', () => {
  const { g, chain } = setup();
  const run = mineRun(g, 4);
  const gap = chain.acceptHeaders([run[0]!.header, run[2]!.header]);
  assert.ok(!gap.ok && gap.code === 'headers-not-continuous');
  const bad = { ...run[2]!.header, bits: 0x1d00ffff };
  const r = chain.acceptHeaders([run[0]!.header, run[1]!.header, bad]);
  assert.ok(!r.ok);
  assert.is(chain.pendingHeaders, 0, 'the good headers before the bad one are not kept either');
});

test('a branch with less work than the tip minus the margin is not worth fetching; one within it is', () => {
  const { g, chain } = setup();
  for (const b of mineRun(g, 10)) assert.ok(chain.accept(b).ok);
  const other = new Uint8Array(20).fill(9);
  const short = mineRun(g, 2, other);
  const low = chain.acceptHeaders(short.map((b) => b.header));
  assert.ok(low.ok && low.value.status === 'low-work');
  assert.is(chain.pendingHeaders, 0);
  const close = mineRun(g, 5, other);
  const within = chain.acceptHeaders(close.map((b) => b.header));
  assert.ok(within.ok && within.value.status === 'connected', 'tip 10, branch 5, margin 6');
});

test('the blocks of a heavier branch taken by its headers are kept one by one, however far below the tip each is', () => {
  const { g, chain } = setup();
  for (const b of mineRun(g, 10)) assert.ok(chain.accept(b).ok);
  const heavier = mineRun(g, 12, new Uint8Array(20).fill(9));
  const r = chain.acceptHeaders(heavier.map((b) => b.header));
  assert.ok(r.ok && r.value.status === 'connected');
  for (const b of heavier) {
    const one = chain.acceptHeaders([b.header]);
    assert.ok(one.ok && one.value.status === 'connected', `block ${b.header.height} is still wanted`);
    assert.ok(chain.accept(b).ok);
  }
  assert.is(chain.tip().height, 12);
});

test('the orphan pool holds its byte budgets; a flooding origin evicts its own orphans first', () => {
  const { g, chain } = setup({ maxOrphanBytes: 400_000, maxOrphanBytesPerOrigin: 300_000 });
  const honest = mineRun(g, 3);
  // Block 3 of an honest run, before its parents: kept as an orphan from origin 'honest'.
  const kept = chain.accept(honest[2]!, { origin: 'honest', bytes: 50_000 });
  assert.ok(kept.ok && kept.value.status === 'orphan');
  for (let i = 0; i < 40; i++) {
    const r = chain.accept(unconnectable(i, []), { origin: 'flooder', bytes: 100_000 });
    assert.ok(r.ok && r.value.status === 'orphan');
    assert.ok(chain.orphanBytes <= 400_000, `total ${chain.orphanBytes}`);
  }
  assert.is(chain.orphanBytes, 350_000, 'three of the flooder, one honest');
  // The honest orphan survived the flood and connects once its parents arrive.
  assert.ok(chain.accept(honest[0]!).ok);
  assert.ok(chain.accept(honest[1]!).ok);
  assert.is(chain.tip().height, 3);
  chain.forgetOrigin('flooder');
  assert.is(chain.orphanBlocks, 0);
});

test('an orphan is checked for its proof of work only; its body and signatures wait for its parent', () => {
  const { g, chain } = setup();
  const [b1, b2] = mineRun(g, 2);
  // b2 with a broken body: as an orphan it is held (nothing to judge it against yet) ...
  const broken = { ...b2!, body: { ...b2!.body, txs: junkTxs(1) } };
  const r = chain.accept(broken, { origin: 'x' });
  assert.ok(r.ok && r.value.status === 'orphan');
  // ... and refused once its parent connects, leaving the chain at the parent.
  assert.ok(chain.accept(b1!).ok);
  assert.is(chain.tip().height, 1);
  assert.is(chain.orphanBlocks, 0);
});

test('a node flooded with big blocks whose parent it does not know keeps none, asks for headers, and drops the sender', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-flood-'));
  const node = new SectorNode({ spec, sector, dbPath: join(dir, 'n.db') });
  const port = await node.start();
  try {
    const peer = await rawPeer(node, port);
    await until(() => node.p2p.peers().length === 1);
    const txs = junkTxs(2000);
    const blocks = Array.from({ length: MAX_UNCONNECTING + 10 }, (_, i) => encodeBlock(unconnectable(i, txs), spec.limits));
    assert.ok(blocks[0]!.length > 200_000, `each block is big (${blocks[0]!.length} bytes)`);
    for (const block of blocks) peer.send({ type: 'block', block });
    const code = await peer.whenClosed;
    assert.is(code, 1000);
    assert.is(node.chain.orphanBlocks, 0, 'nothing kept');
    assert.is(node.chain.pendingHeaders, 0);
    assert.ok(peer.received.some((m) => m.type === 'get-headers'), 'it asked for the headers that would connect them');
    assert.is(node.chain.tip().height, 0);
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
