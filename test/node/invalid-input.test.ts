// Invalid input from a peer, one case per node so a ban in one case cannot
// hide the next: each block is refused with its rule's code, the sender is
// charged what docs/protocol.md §18 says (consensus-invalid: banned; a block
// from the future: free), the node's chain does not move, and its mempool
// gains nothing. Oversize and garbage frames are covered at the transport
// (p2p.test.ts); here they go through a whole node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBlock, type Block } from '../../core/block.js';
import { blockId } from '../../core/header.js';
import { genesisBlock } from '../../core/genesis.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { encodeTx, signTx, type Tx } from '../../core/tx.js';
import { checkHeaderWork } from '../../core/validate.js';
import { MAX_MESSAGE_BYTES } from '../../core/wire.js';
import { SectorNode, type NodeEvent } from '../../node/sector-node.js';
import { mineChild } from './fixtures/mine.js';
import { rawPeer, type RawPeer } from './fixtures/raw-peer.js';
import { until } from '../wait.js';

const base = devnetSpec(Date.now() - 3_600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[2]!;
const miner = keyPairFromSeed(new Uint8Array(32).fill(41));
const user = addressOf(keyPairFromSeed(new Uint8Array(32).fill(42)).publicKey);
const g = genesisBlock(spec, sector);

interface Case {
  node: SectorNode;
  peer: RawPeer;
  events: NodeEvent[];
  /** Block 1 (the miner's subsidy), already connected. */
  b1: Block;
  close(): Promise<void>;
}

async function setup(): Promise<Case> {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-invalid-'));
  const node = new SectorNode({ spec, sector, dbPath: join(dir, 'n.db') });
  const port = await node.start();
  const events: NodeEvent[] = [];
  node.on((e) => events.push(e));
  const b1 = mineChild(spec, sector, g, addressOf(miner.publicKey));
  assert.is(node.submitBlock(b1)?.status, 'connected');
  const peer = await rawPeer(node, port);
  await until(() => node.p2p.peers().length === 1);
  return {
    node,
    peer,
    events,
    b1,
    close: async () => {
      peer.close();
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function transfer(nonce: bigint, amount: bigint, networkId: Uint8Array): Tx {
  return signTx(
    { version: 1, chain: sector.id, from: miner.publicKey, nonce, fee: 1n, payload: { kind: 'transfer', to: user, amount } },
    miner.secretKey,
    networkId,
  );
}

/** Sends `block` from the raw peer; resolves to the rejection event once the node has judged it. */
async function sendBlock(c: Case, block: Block) {
  c.peer.send({ type: 'block', block: encodeBlock(block, spec.limits) });
  let e: Extract<NodeEvent, { type: 'block-rejected' }> | undefined;
  await until(() => (e = c.events.find((x): x is Extract<NodeEvent, { type: 'block-rejected' }> => x.type === 'block-rejected')) !== undefined);
  return e!;
}

async function expectBan(c: Case, code: string, build: (c: Case) => Block) {
  const height = c.node.chain.tip().height;
  const e = await sendBlock(c, build(c));
  assert.is(e.code, code);
  assert.is(e.points, 100);
  await c.peer.whenClosed;
  assert.is(c.node.p2p.banList().length, 1, `${code}: the sender is banned`);
  assert.not.ok(c.node.p2p.isHostBanned('127.0.0.1'), `${code}: its host is not`);
  assert.is(c.node.chain.tip().height, height, `${code}: the chain did not move`);
  assert.is(c.node.mempool.size, 0);
}

const cases: [string, string, (c: Case) => Block][] = [
  [
    'a bad signature',
    'tx-bad-signature',
    (c) => {
      const tx = transfer(0n, 5n, c.node.networkId);
      const forged = { ...tx, signature: Uint8Array.from(tx.signature) };
      forged.signature[0]! ^= 1;
      return mineChild(spec, sector, c.b1, addressOf(miner.publicKey), [forged]);
    },
  ],
  [
    'a nonce replay (the same nonce twice in one block)',
    'tx-bad-nonce',
    (c) => mineChild(spec, sector, c.b1, addressOf(miner.publicKey), [transfer(0n, 5n, c.node.networkId), transfer(0n, 6n, c.node.networkId)]),
  ],
  [
    'an overspend',
    'tx-insufficient-funds',
    (c) => mineChild(spec, sector, c.b1, addressOf(miner.publicKey), [transfer(0n, sector.initialSubsidy, c.node.networkId)]),
  ],
  [
    'bad proof of work',
    'high-hash',
    (c) => {
      const ok = mineChild(spec, sector, c.b1, addressOf(miner.publicKey));
      let header = ok.header;
      do header = { ...header, nonce: header.nonce + 1n };
      while (checkHeaderWork(header, sector).ok);
      return { ...ok, header };
    },
  ],
  [
    'wrong bits',
    'bad-diffbits',
    (c) => {
      const ok = mineChild(spec, sector, c.b1, addressOf(miner.publicKey));
      let header = { ...ok.header, bits: 0x207ffffe, nonce: 0n };
      while (!checkHeaderWork(header, sector).ok) header = { ...header, nonce: header.nonce + 1n };
      return { ...ok, header };
    },
  ],
];

for (const [what, code, build] of cases) {
  test(`a block with ${what} is refused with ${code} and its sender banned`, async () => {
    const c = await setup();
    try {
      await expectBan(c, code, build);
    } finally {
      await c.close();
    }
  });
}

test('a block too far in the future is refused with time-too-new and costs nothing (it may be valid later)', async () => {
  const c = await setup();
  try {
    const future = mineChild(spec, sector, c.b1, addressOf(miner.publicKey), [], Date.now() + spec.limits.maxFutureBlockTimeMs + 60_000);
    const e = await sendBlock(c, future);
    assert.is(e.code, 'time-too-new');
    assert.is(e.points, 0);
    assert.is(c.node.p2p.peers()[0]!.score, 0);
    assert.is(c.node.chain.tip().height, 1);
    // Not stored: once its time has come, the same block is judged afresh.
    assert.is(c.node.store.hasBlock(blockId(future.header)), false);
  } finally {
    await c.close();
  }
});

test('a gossiped tx with a bad signature costs 50 points; a replayed nonce is refused for free', async () => {
  const c = await setup();
  try {
    // Nonce 0 is confirmed in block 2; the same nonce again is a replay.
    const b2 = mineChild(spec, sector, c.b1, addressOf(miner.publicKey), [transfer(0n, 5n, c.node.networkId)]);
    assert.is(c.node.submitBlock(b2)?.status, 'connected');
    c.peer.send({ type: 'tx', tx: encodeTx(transfer(0n, 7n, c.node.networkId)) });
    const forged = transfer(1n, 5n, c.node.networkId);
    forged.signature[5]! ^= 1;
    c.peer.send({ type: 'tx', tx: encodeTx(forged) });
    c.peer.send({ type: 'ping', nonce: 9n });
    await until(() => c.peer.received.some((m) => m.type === 'pong'));
    assert.is(c.node.p2p.peers()[0]?.score, 50, 'the replay cost nothing, the forgery 50');
    assert.is(c.node.mempool.size, 0, 'neither was admitted');
  } finally {
    await c.close();
  }
});

test('an oversize frame closes the connection (1009) and garbage bytes get the peer banned', async () => {
  const c = await setup();
  try {
    c.peer.sendRaw(new Uint8Array(MAX_MESSAGE_BYTES + 1));
    assert.is(await c.peer.whenClosed, 1009);
    assert.is(c.node.chain.tip().height, 1);
  } finally {
    await c.close();
  }
  const d = await setup();
  try {
    for (let i = 0; i < 4; i++) d.peer.sendRaw(new Uint8Array([0xff, 0x00, 0x13, i]));
    await d.peer.whenClosed;
    assert.is(d.node.p2p.banList().length, 1);
  } finally {
    await d.close();
  }
});

test.run();
