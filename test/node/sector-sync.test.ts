// Sync and peer discipline of the sector node on 127.0.0.1 with real
// WebSockets: a block a peer withholds is fetched from another peer after the
// stall timeout or when the withholding peer leaves; the request set stays
// within its bound; blocks from peers go through the ordered queue with the
// signature cache; and rejections cost what their class says (node/penalties.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../core/bytes.js';
import type { Block } from '../../core/block.js';
import { encodeBlock } from '../../core/block.js';
import { genesisBlock } from '../../core/genesis.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { signTx } from '../../core/tx.js';
import type { Message } from '../../core/wire.js';
import { SectorNode, type NodeEvent } from '../../node/sector-node.js';
import { mineChild } from './fixtures/mine.js';
import { rawPeer, type RawPeer } from './fixtures/raw-peer.js';
import { until } from '../wait.js';

const base = devnetSpec(Date.now() - 3_600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[1]!;
const miner = keyPairFromSeed(new Uint8Array(32).fill(21));
const user = keyPairFromSeed(new Uint8Array(32).fill(22));

function chainOf(n: number): Block[] {
  const out: Block[] = [];
  let parent = genesisBlock(spec, sector);
  for (let i = 0; i < n; i++) out.push((parent = mineChild(spec, sector, parent, addressOf(miner.publicKey))));
  return out;
}

/** Node A holding `blocks`, listening; B (empty, with `opts`) listening too. */
async function pair(blocks: Block[], opts: Partial<ConstructorParameters<typeof SectorNode>[0]> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-sync-'));
  const a = new SectorNode({ spec, sector, dbPath: join(dir, 'a.db'), verifyThreads: 0 });
  const portA = await a.start();
  for (const b of blocks) assert.ok(a.submitBlock(b));
  const b = new SectorNode({ spec, sector, dbPath: join(dir, 'b.db'), ...opts });
  const portB = await b.start();
  return {
    a,
    b,
    urlA: `ws://127.0.0.1:${portA}`,
    portB,
    async close() {
      await b.stop();
      await a.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A peer that answers get-headers with `blocks`' headers and never sends a block. */
function withholder(blocks: Block[]) {
  return (m: Message, peer: RawPeer) => {
    if (m.type === 'get-headers') peer.send({ type: 'headers', headers: blocks.map((b) => b.header) });
  };
}

test('a block a peer withholds is fetched from another peer after the stall timeout', async () => {
  const blocks = chainOf(30);
  const n = await pair(blocks, { requestTimeoutMs: 300 });
  try {
    const f = await rawPeer(n.b, n.portB, withholder(blocks));
    await until(() => f.received.some((m) => m.type === 'get-blocks'));
    assert.is(n.b.requested.countFor(n.b.p2p.peers()[0]!), 30);
    n.b.p2p.connect(n.urlA);
    await until(() => n.b.chain.tip().height === 30);
    assert.is(toHex(n.b.chain.tip().id), toHex(n.a.chain.tip().id));
    assert.not.ok(f.closed, 'withholding is not misbehaviour');
    f.close();
  } finally {
    await n.close();
  }
});

test('a peer that leaves releases its requests, and the blocks come from another peer', async () => {
  const blocks = chainOf(20);
  // A timeout far beyond the test: only the departure can release the requests.
  const n = await pair(blocks, { requestTimeoutMs: 600_000 });
  try {
    const f = await rawPeer(n.b, n.portB, withholder(blocks));
    await until(() => f.received.some((m) => m.type === 'get-blocks'));
    n.b.p2p.connect(n.urlA);
    await until(() => n.b.p2p.peers().length === 2);
    assert.is(n.b.chain.tip().height, 0);
    f.close();
    await until(() => n.b.chain.tip().height === 20);
    assert.is(n.b.requested.size, 0);
  } finally {
    await n.close();
  }
});

test('a sync never has more blocks requested than the bound, and completes', async () => {
  const blocks = chainOf(30);
  const n = await pair(blocks, { maxRequestedBlocks: 8 });
  try {
    let most = 0;
    const add = n.b.requested.add.bind(n.b.requested);
    n.b.requested.add = (id, peer) => {
      const r = add(id, peer);
      most = Math.max(most, n.b.requested.size);
      return r;
    };
    n.b.p2p.connect(n.urlA);
    await until(() => n.b.chain.tip().height === 30);
    assert.is(most, 8);
    assert.is(n.b.requested.size, 0);
  } finally {
    await n.close();
  }
});

test('peer blocks: cached signatures, and penalties in proportion (time-too-new 0, known-invalid 20, bad signature bans)', async () => {
  const n = await pair([], { verifyThreads: 1 });
  const events: NodeEvent[] = [];
  n.b.on((e) => events.push(e));
  const rejected = (code: string) => events.find((e): e is Extract<NodeEvent, { type: 'block-rejected' }> => e.type === 'block-rejected' && e.code === code);
  try {
    assert.is(n.b.verifyThreads, 1);
    const f = await rawPeer(n.b, n.portB);
    await until(() => n.b.p2p.peers().length === 1);
    const score = () => n.b.p2p.peers()[0]?.score;
    const send = (block: Block) => f.send({ type: 'block', block: encodeBlock(block, spec.limits) });
    const g = genesisBlock(spec, sector);

    // From the future by our clock: refused, free.
    send(mineChild(spec, sector, g, addressOf(miner.publicKey), [], Date.now() + 120_000));
    await until(() => rejected('time-too-new') !== undefined);
    assert.is(rejected('time-too-new')!.points, 0);
    assert.is(score(), 0);

    // A valid block, then one carrying a tx the mempool had admitted: its signature comes from the cache.
    const b1 = mineChild(spec, sector, g, addressOf(miner.publicKey));
    send(b1);
    await until(() => n.b.chain.tip().height === 1);
    const tx = signTx(
      { version: 1, chain: sector.id, from: miner.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to: addressOf(user.publicKey), amount: 5n } },
      miner.secretKey,
      n.b.networkId,
    );
    assert.ok(n.b.submitTx(tx).ok);
    assert.is(n.b.sigCache.size, 1);
    const hits = n.b.sigCache.hits;
    send(mineChild(spec, sector, b1, addressOf(miner.publicKey), [tx]));
    await until(() => n.b.chain.tip().height === 2);
    assert.ok(n.b.sigCache.hits > hits);
    assert.is(n.b.sigCache.size, 0, 'block validation consumed the entry');
    await n.b.blocksIdle();

    // A block the node already rejected (submitted locally first): 20 points, still connected.
    const broke = keyPairFromSeed(new Uint8Array(32).fill(23));
    const spendNothing = signTx(
      { version: 1, chain: sector.id, from: broke.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to: addressOf(user.publicKey), amount: 5n } },
      broke.secretKey,
      n.b.networkId,
    );
    const b3 = n.b.store.getBlockByHeight(2)!;
    const invalid = mineChild(spec, sector, b3, addressOf(miner.publicKey), [spendNothing]);
    assert.is(n.b.submitBlock(invalid), undefined);
    send(invalid);
    await until(() => rejected('block-known-invalid') !== undefined);
    assert.is(score(), 20);
    assert.not.ok(f.closed);

    // A bad signature among valid ones: tx-bad-signature, and the sender is banned.
    const good = Array.from({ length: 6 }, (_, i) =>
      signTx(
        { version: 1, chain: sector.id, from: miner.publicKey, nonce: BigInt(1 + i), fee: 1n, payload: { kind: 'transfer', to: addressOf(user.publicKey), amount: 5n } },
        miner.secretKey,
        n.b.networkId,
      ),
    );
    const forged = { ...good[3]!, signature: Uint8Array.from(good[3]!.signature) };
    forged.signature[10]! ^= 4;
    good[3] = forged;
    send(mineChild(spec, sector, b3, addressOf(miner.publicKey), good));
    await f.whenClosed;
    const r = rejected('tx-bad-signature')!;
    assert.ok(r, 'rejected with tx-bad-signature');
    assert.match(r.detail, /^tx 3:/);
    assert.is(r.points, 100);
    assert.is(n.b.p2p.banList().length, 1);
    assert.is(n.b.chain.tip().height, 2);
  } finally {
    await n.close();
  }
  assert.is(n.b.verifyThreads, 0, 'the verify workers stopped with the node');
});

test.run();
