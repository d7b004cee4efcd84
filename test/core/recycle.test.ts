// Mandatory recycling: the entry's bytes, where entries may stand, and the
// state rule — an epoch's last block carries exactly ⌈income · bps / 10,000⌉
// per named account (income: transfers from others, releases, its mining
// reward; capped by its balance), locked to the treasury; anything else is
// bad-recycle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecCodeOf } from './codec-code.js';
import { emptyBody, type Block } from '../../core/block.js';
import { toHex } from '../../core/bytes.js';
import { genesisBlock, networkId } from '../../core/genesis.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { blockSubsidy, devnetSpec, specProblems, type NetworkSpec, type SectorParams } from '../../core/params.js';
import { checkRecycleShape, checkSettlements, decodeSettlement, encodeSettlement, settlementOf, type RecycleEntry } from '../../core/settlement.js';
import { applyBlock, applyDeltaToMap, blockCredits, endsRecycleEpoch, mapStateView, recyclesDue, treasuryAddress, type ApplyContext } from '../../core/state-transition.js';
import type { AccountState } from '../../core/state.js';
import { signTx, type Tx } from '../../core/tx.js';
import type { Release } from '../../core/main-ledger.js';

const founder = keyPairFromSeed(new Uint8Array(32).fill(61));
const user = keyPairFromSeed(new Uint8Array(32).fill(62));
const F = addressOf(founder.publicKey);
const U = addressOf(user.publicKey);
const OTHER = new Uint8Array(20).fill(0x77);
const base = devnetSpec();
const sector: SectorParams = { ...base.sectors[0]!, recycle: { accounts: [toHex(F)], bps: 1_000, epochBlocks: 4 } };
const spec: NetworkSpec = { ...base, sectors: [sector, ...base.sectors.slice(1)] };
const nid = networkId(spec);
const TREASURY = treasuryAddress(sector.id);
const SUBSIDY = blockSubsidy(sector, 1);

const pay = (from: typeof user, nonce: bigint, to: Uint8Array, amount: bigint, fee = 10n): Tx =>
  signTx({ version: 1, chain: sector.id, from: from.publicKey, nonce, fee, payload: { kind: 'transfer', to, amount } }, from.secretKey, nid);
const recycle = (epoch: bigint, amount: bigint, account = F): RecycleEntry => ({ kind: 'recycle', epoch, account, amount });
const release = (seq: number, to: Uint8Array, amount: bigint): Release => ({
  id: toHex(new Uint8Array(32).fill(seq + 9)),
  seq: BigInt(seq),
  window: 1,
  sectorId: sector.id,
  to,
  amount,
  reason: 'fee',
  txid: toHex(new Uint8Array(32).fill(1)),
});

function block(height: number, txs: Tx[], miner: Uint8Array, settlements: Uint8Array[] = []): Block {
  const g = genesisBlock(spec, sector);
  return { header: { ...g.header, height }, body: { ...emptyBody(miner), txs, settlements }, workProof: new Uint8Array(0) };
}

test('a recycle entry is kind 1 ‖ epoch ‖ account ‖ amount, 37 bytes; hostile bytes give coded errors', () => {
  const bytes = encodeSettlement(recycle(3n, 500n));
  assert.is(bytes.length, 37);
  assert.is(toHex(bytes.slice(0, 9)), '01' + '0300000000000000');
  assert.equal(bytes.slice(9, 29), F);
  assert.equal(decodeSettlement(bytes), recycle(3n, 500n));
  assert.is(codecCodeOf(() => decodeSettlement(bytes.slice(0, 36))), 'codec-truncated');
  assert.is(codecCodeOf(() => decodeSettlement(Uint8Array.of(...bytes, 1))), 'codec-trailing-bytes');
});

test('recycle entries stand only after the releases, in an epoch\'s last block, of that epoch, of named accounts in order', () => {
  const rel = encodeSettlement(settlementOf(release(0, U, 5n)));
  const rec = encodeSettlement(recycle(2n, 9n));
  const shape = (entries: Uint8Array[], height: number, r = sector.recycle) => {
    const c = checkSettlements(entries);
    if (!c.ok) return c.code;
    const s = checkRecycleShape(c.value, height, r);
    return s.ok ? 'ok' : `${s.code}: ${s.detail}`;
  };
  assert.is(shape([rel, rec], 8), 'ok');
  assert.is(shape([rec, rel], 8), 'bad-settlement');
  assert.match(shape([rec], 7), /^bad-recycle: block 7 ends no recycling epoch/);
  assert.match(shape([rec], 12), /^bad-recycle: recycle entry 0: epoch 2, this block ends epoch 3/);
  assert.match(shape([encodeSettlement(recycle(2n, 9n, OTHER))], 8), /is not a named account/);
  assert.match(shape([rec, rec], 8), /out of the named order or repeated/);
  const two = { ...sector.recycle, accounts: [toHex(F), toHex(U)] };
  assert.is(shape([rec, encodeSettlement(recycle(2n, 1n, U))], 8, two), 'ok');
  assert.match(shape([encodeSettlement(recycle(2n, 1n, U)), rec], 8, two), /out of the named order/);
  assert.ok(specProblems({ ...spec, sectors: [{ ...sector, recycle: { accounts: [toHex(F), toHex(F)], bps: 10_001, epochBlocks: 0 } }, ...spec.sectors.slice(1)] }).length >= 3);
});

test("the epoch's last block must lock exactly ⌈income · bps / 10,000⌉ of each named account's income to the treasury", () => {
  const state = new Map<string, AccountState>([
    [toHex(U), { balance: 100_000n, nonce: 0n }],
    [toHex(TREASURY), { balance: 10_000n, nonce: 0n }],
  ]);
  const epoch: Block[] = [];
  const connect = (b: Block, ctx: ApplyContext = { sector, networkId: nid }) => {
    const d = applyBlock(mapStateView(state), b, ctx);
    assert.ok(d.ok, d.ok ? '' : `${d.code} ${d.detail}`);
    if (d.ok) applyDeltaToMap(state, d.value, 'connect');
    epoch.push(b);
  };
  // Block 1: the user pays the founder 12,345; block 2: the founder mines (subsidy + the fee of a tx of the user's);
  // block 3: a release to the founder, and the founder pays itself (no income) and someone else (a spend).
  connect(block(1, [pay(user, 0n, F, 12_345n)], OTHER));
  connect(block(2, [pay(user, 1n, OTHER, 1n, 7n)], F));
  connect(block(3, [pay(founder, 0n, F, 5n, 1n), pay(founder, 1n, OTHER, 100n, 1n)], OTHER, [encodeSettlement(settlementOf(release(0, F, 2_000n)))]));
  assert.is(blockCredits(epoch[0]!, sector, F), 12_345n);
  assert.is(blockCredits(epoch[1]!, sector, F), SUBSIDY + 7n);
  assert.is(blockCredits(epoch[2]!, sector, F), 2_000n, 'a self-transfer is no income');
  // Block 4 ends epoch 1: the user pays the founder 55 more.
  const txs = [pay(user, 2n, F, 55n)];
  const income = 12_345n + SUBSIDY + 7n + 2_000n + 55n;
  const owed = (income * 1_000n + 9_999n) / 10_000n;
  const ctx: ApplyContext = { sector, networkId: nid, epochBlocks: epoch };
  assert.ok(endsRecycleEpoch(sector, 4) && !endsRecycleEpoch(sector, 3) && !endsRecycleEpoch(sector, 0));
  const due = recyclesDue(mapStateView(state), block(4, txs, OTHER), ctx);
  assert.equal(due, { ok: true, value: [recycle(1n, owed)] });
  const bad = (entries: Uint8Array[]) => {
    const r = applyBlock(mapStateView(state), block(4, txs, OTHER, entries), ctx);
    return r.ok ? 'ok' : r.code;
  };
  assert.is(bad([]), 'bad-recycle', 'a missing entry');
  assert.is(bad([encodeSettlement(recycle(1n, owed - 1n))]), 'bad-recycle', 'one short');
  assert.is(bad([encodeSettlement(recycle(1n, owed + 1n))]), 'bad-recycle', 'one over');
  const founderBefore = state.get(toHex(F))!.balance;
  const treasuryBefore = state.get(toHex(TREASURY))!.balance;
  const d = applyBlock(mapStateView(state), block(4, txs, OTHER, [encodeSettlement(recycle(1n, owed))]), ctx);
  assert.ok(d.ok);
  if (!d.ok) return;
  applyDeltaToMap(state, d.value, 'connect');
  assert.is(state.get(toHex(F))!.balance, founderBefore + 55n - owed);
  assert.is(state.get(toHex(TREASURY))!.balance, treasuryBefore + owed);
  // Without the epoch's earlier blocks the rule cannot be computed: a caller's bug, not a verdict.
  assert.throws(() => applyBlock(mapStateView(state), block(8, [], OTHER), { sector, networkId: nid }), /needs the epoch's 3 earlier blocks/);
});

test('what is owed is capped by the balance left: a founder that spent its income recycles what it still holds', () => {
  const state = new Map<string, AccountState>([[toHex(U), { balance: 100_000n, nonce: 0n }]]);
  const epoch: Block[] = [];
  for (const [h, txs, miner] of [
    [1, [pay(user, 0n, F, 50_000n)], OTHER],
    [2, [], OTHER],
    [3, [pay(founder, 0n, OTHER, 49_990n, 5n)], OTHER],
  ] as const) {
    const b = block(h, [...txs], miner);
    const d = applyBlock(mapStateView(state), b, { sector, networkId: nid });
    assert.ok(d.ok);
    if (d.ok) applyDeltaToMap(state, d.value, 'connect');
    epoch.push(b);
  }
  assert.is(state.get(toHex(F))!.balance, 5n);
  const due = recyclesDue(mapStateView(state), block(4, [], OTHER), { sector, networkId: nid, epochBlocks: epoch });
  assert.equal(due, { ok: true, value: [recycle(1n, 5n)] }, '5,000 owed, 5 held');
  // An epoch with no income owes nothing: no entry.
  const quiet = [5, 6, 7].map((h) => block(h, [], OTHER));
  assert.equal(recyclesDue(mapStateView(state), block(8, [], OTHER), { sector, networkId: nid, epochBlocks: quiet }), { ok: true, value: [] });
});

test.run();
