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
import type { Release } from '../../core/main-ledger.js';
import { decodeSettlement, encodeSettlement, matchSettlements, settlementOf } from '../../core/settlement.js';
import { genesisState, recyclesDue, treasuryAddress } from '../../core/state-transition.js';
import { signTx, type Tx } from '../../core/tx.js';
import { checkHeaderWork } from '../../core/validate.js';
import { Chain } from '../../node/chain.js';
import { commitColumns, commitRows } from '../../core/lottery.js';
import { decodeWorkProof, encodeWorkProof, freshResults, matmulTaskVerdict, type TaskEscrow } from '../../core/task.js';
import { windowOf } from '../../core/time.js';
import { MemoryStore } from './memory-store.js';
import { mineChild, mineMatmulChild } from './fixtures/mine.js';

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

// ---- settlements: judged by the MAIN fold, held while it cannot tell ----

const carolAddr = addressOf(carol.publicKey);
const owedRelease = (seq: number, window: number, amount: bigint): Release => ({
  id: toHex(new Uint8Array(32).fill(seq + 1)),
  seq: BigInt(seq),
  window,
  sectorId: sector.id,
  to: carolAddr,
  amount,
  reason: 'fee',
  txid: toHex(new Uint8Array(32).fill(0xee)),
});
const settle = (r: Release) => encodeSettlement(settlementOf(r));
const lock = (nonce: bigint, amount: bigint) =>
  signTx({ version: 1, chain: sector.id, from: alice.publicKey, nonce, fee: 10n, payload: { kind: 'convert', amount, minMain: 0n, mainTo: addressOf(alice.publicKey) } }, alice.secretKey, nid);

/** A chain whose treasury holds 5,000 (alice's lock at height 2), and a fold that knows `known` releases, complete through `through`. */
function settledSetup(known: Release[], through: number) {
  const t = setup();
  t.advance(600_000);
  const b1 = mine(t.g);
  const b2 = mine(b1, [lock(0n, 5_000n)]);
  assert.ok(t.chain.accept(b1).ok && t.chain.accept(b2).ok);
  const fold = { known, through };
  t.chain.judgeSettlements((s) => matchSettlements(s, { completeThrough: fold.through, release: (seq) => fold.known[Number(seq)] }));
  const withSettlements = (parent: Block, rs: Release[], extra = 0) =>
    mineChild(spec, sector, parent, addressOf(alice.publicKey), [], parent.header.timeMs + sector.blockTimeMs + extra, { settlements: rs.map(settle) });
  return { ...t, b2, fold, withSettlements };
}

test('a block whose settlements the fold has not reached is held, its child waits as an orphan, and both connect once the fold catches up', () => {
  const r0 = owedRelease(0, 7, 1_200n);
  const { chain, store, b2, fold, withSettlements } = settledSetup([], 3);
  const b3 = withSettlements(b2, [r0]);
  const b4 = mine(b3);
  const h = chain.accept(b3, { origin: 'peer-a' });
  assert.ok(h.ok && h.value.status === 'held');
  assert.is(chain.heldBlocks, 1);
  assert.ok(chain.isHeld(blockId(b3.header)));
  assert.is(store.hasBlock(blockId(b3.header)), false, 'a held block is not stored');
  const again = chain.accept(b3);
  assert.ok(again.ok && again.value.status === 'held', 'a held block offered again stays held, nothing judged twice');
  const o = chain.accept(b4);
  assert.ok(o.ok && o.value.status === 'orphan');
  // Still pending: retried, held again.
  assert.equal(chain.retryHeld().map((r) => r.result.ok && r.result.value.status), ['held']);
  fold.known = [r0];
  fold.through = 7;
  const retried = chain.retryHeld();
  assert.is(retried.length, 1);
  assert.is(retried[0]!.origin, 'peer-a');
  assert.ok(retried[0]!.result.ok && retried[0]!.result.value.status === 'connected');
  assert.is(chain.tip().height, 4, 'the orphan child connected after its held parent');
  assert.is(chain.heldBlocks, 0);
  assert.is(store.account(carolAddr).balance, 1_200n);
  assert.equal(store.account(treasuryAddress(sector.id)), { balance: 3_800n, nonce: 1n });
});

test('a settlement the fold contradicts, or one it completed without, is bad-settlement and nothing is stored', () => {
  const r0 = owedRelease(0, 7, 1_200n);
  const { chain, store, b2, withSettlements } = settledSetup([r0], 9);
  const wrongAmount = withSettlements(b2, [{ ...r0, amount: 1_201n }]);
  const unowed = withSettlements(b2, [r0, owedRelease(1, 8, 5n)], 1);
  for (const b of [wrongAmount, unowed]) {
    const r = chain.accept(b);
    assert.is(r.ok ? r.value.status : r.code, 'bad-settlement');
    assert.is(store.hasBlock(blockId(b.header)), false);
  }
  assert.is(chain.heldBlocks, 0);
  // The right one connects; a later block repeating it fails the state rule, its branch refused.
  const good = withSettlements(b2, [r0], 2);
  const g = chain.accept(good);
  assert.ok(g.ok && g.value.status === 'connected');
  const repeat = withSettlements(good, [r0]);
  const rr = chain.accept(repeat);
  assert.is(rr.ok ? rr.value.status : `${rr.code}`, 'bad-settlement');
  assert.is(chain.tip().height, 3);
});

test('a reorged-out settlement is pending again and applied once on the new branch', () => {
  const r0 = owedRelease(0, 7, 1_200n);
  const r1 = owedRelease(1, 7, 300n);
  const { chain, store, b2, withSettlements } = settledSetup([r0, r1], 9);
  const a3 = withSettlements(b2, [r0, r1]);
  assert.ok(chain.accept(a3).ok);
  assert.is(store.account(carolAddr).balance, 1_500n);
  // A heavier branch from b2 that settles r0, then r1, one block at a time.
  const c3 = withSettlements(b2, [r0], 1);
  const c4 = withSettlements(c3, [r1]);
  const side = chain.accept(c3);
  assert.ok(side.ok && side.value.status === 'side');
  const moved = chain.accept(c4);
  assert.ok(moved.ok && moved.value.status === 'connected');
  assert.is(chain.tip().height, 4);
  assert.is(store.account(carolAddr).balance, 1_500n, 'each release credited once on the new branch');
  assert.equal(store.account(treasuryAddress(sector.id)), { balance: 3_500n, nonce: 2n });
});

test('with no MAIN view a block with settlements is held, never judged; held blocks are bounded', () => {
  const { g, store, advance } = setup();
  advance(600_000);
  const chain = new Chain<string>(store, { spec, sector, networkId: nid, now: () => spec.genesisTimeMs + 600_000, maxHeldBlocks: 2 });
  const blocks = [0, 1, 2].map((i) => mineChild(spec, sector, g, addressOf(alice.publicKey), [], g.header.timeMs + sector.blockTimeMs + i, { settlements: [settle(owedRelease(0, 1, 1n))] }));
  for (const b of blocks) {
    const r = chain.accept(b);
    assert.ok(r.ok && r.value.status === 'held');
  }
  assert.is(chain.heldBlocks, 2, 'the oldest went first');
  assert.is(chain.isHeld(blockId(blocks[0]!.header)), false);
  chain.forgetOrigin('nobody');
  assert.is(chain.heldBlocks, 2);
});

// ---- mandatory recycling: an epoch's last block, judged with the epoch read from its own branch ----

test("an epoch's last block must carry the recycling lock due on its branch; a reorg judges the other branch by its own epoch", () => {
  const named: NetworkSpec = { ...spec, sectors: spec.sectors.map((s) => (s.id === sector.id ? { ...s, recycle: { accounts: [toHex(addressOf(alice.publicKey))], bps: 2_500, epochBlocks: 3 } } : s)) };
  const rs = named.sectors.find((s) => s.id === sector.id)!;
  const g = genesisBlock(named, rs);
  const store = new MemoryStore(g, blockId(g.header), genesisState(named, rs));
  const chain = new Chain<string>(store, { spec: named, sector: rs, networkId: networkId(named), now: () => named.genesisTimeMs + 600_000 });
  const child = (parent: Block, miner: typeof alice, extra = 0, settlements: Uint8Array[] = []) =>
    mineChild(named, rs, parent, addressOf(miner.publicKey), [], parent.header.timeMs + rs.blockTimeMs + extra, { settlements });
  /** The epoch's last block on `parent`, with the entries the chain's current best branch makes due (or `entries`). */
  const closing = (parent: Block, miner: typeof alice, extra = 0, entries?: Uint8Array[]) => {
    const draft = child(parent, miner, extra);
    const due = recyclesDue(store, draft, chain.applyContext(3));
    assert.ok(due.ok);
    return child(parent, miner, extra, entries ?? (due.ok ? due.value.map(encodeSettlement) : []));
  };
  // Alice mines blocks 1 and 2: her income is two subsidies; block 3 (bob's) must lock a quarter of it.
  const a1 = child(g, alice);
  const a2 = child(a1, alice);
  assert.ok(chain.accept(a1).ok && chain.accept(a2).ok);
  const owed = (2n * rs.initialSubsidy * 2_500n + 9_999n) / 10_000n;
  const missing = closing(a2, bob, 0, []);
  const r = chain.accept(missing);
  assert.is(r.ok ? r.value.status : r.code, 'bad-recycle');
  const a3 = closing(a2, bob, 1);
  assert.is(decodeSettlement(a3.body.settlements[0]!).amount, owed);
  const c = chain.accept(a3);
  assert.ok(c.ok && c.value.status === 'connected');
  assert.is(store.account(addressOf(alice.publicKey)).balance, 2n * rs.initialSubsidy - owed);
  assert.is(store.account(treasuryAddress(rs.id)).balance, owed);
  // Another branch where alice mined nothing: its epoch owes nothing, so its block 3 carries no entry, and it wins by a 4th block.
  const b1 = child(g, carol, 2);
  const b2 = child(b1, carol);
  const b3 = child(b2, carol);
  const b4 = child(b3, carol);
  for (const b of [b1, b2, b3]) assert.ok(chain.accept(b).ok);
  const moved = chain.accept(b4);
  assert.ok(moved.ok && moved.value.status === 'connected', moved.ok ? moved.value.status : moved.code);
  assert.is(chain.tip().height, 4);
  assert.is(store.account(addressOf(alice.publicKey)).balance, 0n, 'the lock went with its branch');
  assert.is(store.account(treasuryAddress(rs.id)).balance, 0n);
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

test('a matmul block: held while the ledger cannot tell, taken for a final task, refused for random matrices, an unknown task or a tampered tile', () => {
  const { g, store, chain, advance } = setup();
  advance(600_000);
  const { tileRows: h, tileCols: w, rank } = sector.lottery;
  const [m, k, n] = [2 * h, 2 * rank, 2 * w];
  const A = Int8Array.from({ length: m * k }, (_, i) => ((i * 7) % 129) - 64);
  const B = Int8Array.from({ length: k * n }, (_, i) => ((i * 11) % 129) - 64);
  const id = new Uint8Array(32).fill(9);
  const blockAt = (parent: Block, a = A, b = B, taskId = id) => mineMatmulChild(spec, sector, parent, addressOf(alice.publicKey), { id: taskId, A: a, B: b, m, k, n });
  const b1 = mine(g);
  assert.ok(chain.accept(b1).ok);
  const good = blockAt(b1);
  const W = windowOf(good.header.timeMs, spec.genesisTimeMs, spec.main.windowMs);
  // Without a MAIN view a matmul block is held, never judged.
  const held = chain.accept(good);
  assert.ok(held.ok && held.value.status === 'held');
  assert.is(store.hasBlock(blockId(good.header)), false);
  // A ledger that holds the task, final two windows before the block's.
  const task: TaskEscrow = { id: toHex(id), submitter: addressOf(bob.publicKey), sector: sector.id, work: 'gemm-i8', m, k, n, commitA: commitRows(A, m, k), commitB: commitColumns(B, k, n), redundancy: 1, escrow: 1n, deadline: W + 10, window: W - 2, status: 'open', ...freshResults() };
  const ledger = { folded: W - 3, tasks: new Map<string, TaskEscrow>() };
  chain.judgeTasks((header, proof) => matmulTaskVerdict(sector.id, windowOf(header.timeMs, spec.genesisTimeMs, spec.main.windowMs), proof, { foldedWindow: ledger.folded, task: ledger.tasks.get(toHex(proof.task)) }));
  assert.equal(chain.retryHeld().map((r) => r.result.ok && r.result.value.status), ['held'], 'unknown, and the ledger short of W − 1: still pending');
  ledger.tasks.set(task.id, task);
  ledger.folded = W - 1;
  const taken = chain.retryHeld();
  assert.ok(taken[0]!.result.ok && taken[0]!.result.value.status === 'connected', taken[0]!.result.ok ? taken[0]!.result.value.status : taken[0]!.result.code);
  assert.is(chain.tip().height, 2);
  assert.is(store.account(addressOf(alice.publicKey)).balance, 2n * sector.initialSubsidy, 'a matmul block earns the subsidy as a hash block does');
  const code = (b: Block) => ((r) => (r.ok ? r.value.status : r.code))(chain.accept(b));
  // The ledger complete past the next blocks' window: an unknown task is then known to be unknown.
  ledger.folded = W + 5;
  // Random matrices under the task's id, an unknown task once the ledger is complete, a tile whose opening is tampered.
  assert.is(code(blockAt(good, Int8Array.from(A, (v) => -v))), 'matmul-without-task');
  assert.is(code(blockAt(good, A, B, new Uint8Array(32).fill(1))), 'matmul-without-task');
  const tampered = blockAt(good);
  const proof = decodeWorkProof(tampered.workProof);
  proof.colsOfB[0] = proof.colsOfB[0] === 5 ? 6 : 5;
  assert.is(code({ ...tampered, workProof: encodeWorkProof(proof) }), 'lottery-bad-opening');
  // Past the deadline.
  ledger.tasks.set(task.id, { ...task, deadline: W - 1 });
  assert.is(code(blockAt(good)), 'matmul-without-task');
});

test.run();
