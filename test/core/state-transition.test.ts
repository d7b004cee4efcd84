// Sector account-state transition: tx rules with their codes, block
// application, genesis, undo, and a model-based property test that applies
// random blocks, checks every result against an independent model, then
// disconnects everything back to genesis.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { toHex } from '../../core/bytes.js';
import { U64_MAX } from '../../core/codec.js';
import { emptyBody, type Block } from '../../core/block.js';
import { genesisBlock, networkId } from '../../core/genesis.js';
import { TAGS, taggedHash } from '../../core/hash.js';
import { addressOf, keyPairFromSeed, type KeyPair } from '../../core/keys.js';
import { blockSubsidy, DEVNET_FAUCET_TOKENS, devnetFaucetSeed, devnetSpec, type NetworkSpec, type SectorParams } from '../../core/params.js';
import type { AccountState, StateDelta } from '../../core/state.js';
import {
  applyBlock,
  applyDeltaToMap,
  applyTx,
  checkTxAgainstState,
  genesisState,
  mapStateView,
  nextNonce,
  StateOverlay,
  treasuryAddress,
  txsForMempoolReturn,
  undoDelta,
  type ApplyContext,
} from '../../core/state-transition.js';
import { signTx, txAmount, type Tx, type UnsignedTx } from '../../core/tx.js';

const spec = devnetSpec();
const sector = spec.sectors[0]!;
const nid = networkId(spec);
const ctx: ApplyContext = { sector, networkId: nid };
const COIN = 100_000_000n;
const SUBSIDY = blockSubsidy(sector, 1);

const keys: KeyPair[] = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)));
const addr = keys.map((k) => addressOf(k.publicKey));
const [A, B, C] = addr as [Uint8Array, Uint8Array, Uint8Array];
const MINER = new Uint8Array(20).fill(0xee);
const TREASURY = treasuryAddress(sector.id);
const hex = toHex;

function unsigned(from: KeyPair, nonce: bigint, to: Uint8Array, amount: bigint, fee: bigint, chain = sector.id): UnsignedTx {
  return { version: 1, chain, from: from.publicKey, nonce, fee, payload: { kind: 'transfer', to, amount } };
}

function transfer(from: KeyPair, nonce: bigint, to: Uint8Array, amount: bigint, fee = 10n): Tx {
  return signTx(unsigned(from, nonce, to, amount, fee), from.secretKey, nid);
}

function convert(from: KeyPair, nonce: bigint, amount: bigint, fee = 10n): Tx {
  const u: UnsignedTx = {
    version: 1,
    chain: sector.id,
    from: from.publicKey,
    nonce,
    fee,
    payload: { kind: 'convert', amount, minMain: 1n, mainTo: new Uint8Array(20).fill(9) },
  };
  return signTx(u, from.secretKey, nid);
}

function block(txs: Tx[], height = 1, miner: Uint8Array = MINER): Block {
  const g = genesisBlock(spec, sector);
  return { header: { ...g.header, height }, body: { ...emptyBody(miner), txs }, workProof: new Uint8Array(0) };
}

function stateMap(entries: [Uint8Array, bigint, bigint?][]): Map<string, AccountState> {
  return new Map(entries.map(([a, balance, nonce]) => [hex(a), { balance, nonce: nonce ?? 0n }]));
}

function copyMap(m: Map<string, AccountState>): Map<string, AccountState> {
  return new Map([...m].map(([k, v]) => [k, { ...v }]));
}

/** Every account value frozen, so any write into the view's objects throws. */
function frozen(m: Map<string, AccountState>): Map<string, AccountState> {
  for (const v of m.values()) Object.freeze(v);
  return m;
}

function mustApply(m: Map<string, AccountState>, b: Block, c: ApplyContext = ctx): StateDelta {
  const r = applyBlock(mapStateView(m), b, c);
  if (!r.ok) throw new Error(`${r.code}: ${r.detail}`);
  return r.value;
}

function codeOf(m: Map<string, AccountState>, b: Block, c: ApplyContext = ctx): string {
  const r = applyBlock(mapStateView(m), b, c);
  return r.ok ? 'ok' : r.code;
}

const supply = (m: Map<string, AccountState>) => [...m.values()].reduce((s, a) => s + a.balance, 0n);

test('treasuryAddress: 20 bytes of the tagged hash of u32le sector id, one per sector', () => {
  const t1 = treasuryAddress(1);
  assert.is(t1.length, 20);
  assert.equal(t1, taggedHash('pouw/treasury', Uint8Array.of(1, 0, 0, 0)).slice(0, 20));
  assert.is(TAGS.treasury, 'pouw/treasury');
  assert.equal(treasuryAddress(1), t1);
  const all = new Set([1, 2, 3, 4, 0x01000000].map((i) => hex(treasuryAddress(i))));
  assert.is(all.size, 5);
  assert.throws(() => treasuryAddress(-1), RangeError);
  assert.throws(() => treasuryAddress(2 ** 32), RangeError);
});

test('a transfer moves amount, charges the fee, bumps the nonce; the miner gets subsidy + fees', () => {
  const m = stateMap([[A, 1000n]]);
  const d = mustApply(m, block([transfer(keys[0]!, 0n, B, 300n, 7n)]));
  assert.is(d.fees, 7n);
  assert.is(d.subsidy, SUBSIDY);
  assert.equal(
    d.changes.map((c) => [hex(c.address), c.before, c.after]),
    [
      [hex(A), { balance: 1000n, nonce: 0n }, { balance: 693n, nonce: 1n }],
      [hex(B), { balance: 0n, nonce: 0n }, { balance: 300n, nonce: 0n }],
      [hex(MINER), { balance: 0n, nonce: 0n }, { balance: SUBSIDY + 7n, nonce: 0n }],
    ],
  );
  assert.is(nextNonce(mapStateView(applyDeltaToMap(copyMap(m), d, 'connect')), A), 1n);
});

test('nonce: replay (lower) and gap (higher) are tx-bad-nonce with expected/got', () => {
  const m = stateMap([[A, 1000n, 3n]]);
  const replay = applyBlock(mapStateView(m), block([transfer(keys[0]!, 2n, B, 1n)]), ctx);
  assert.equal(replay, { ok: false, code: 'tx-bad-nonce', detail: 'tx 0: expected nonce 3, got 2 (replay)' });
  const gap = applyBlock(mapStateView(m), block([transfer(keys[0]!, 4n, B, 1n)]), ctx);
  assert.equal(gap, { ok: false, code: 'tx-bad-nonce', detail: 'tx 0: expected nonce 3, got 4 (gap)' });
  assert.is(codeOf(m, block([transfer(keys[0]!, 3n, B, 1n)])), 'ok');
  // The same tx twice in one block: the second is a replay of the first.
  const t = transfer(keys[0]!, 3n, B, 1n);
  const twice = applyBlock(mapStateView(m), block([t, t]), { ...ctx, verifySignatures: false });
  assert.equal(twice, { ok: false, code: 'tx-bad-nonce', detail: 'tx 1: expected nonce 4, got 3 (replay)' });
});

test('balance: amount + fee equal to the balance is spendable, one more unit is not', () => {
  const m = stateMap([[A, 1000n]]);
  const d = mustApply(m, block([transfer(keys[0]!, 0n, B, 990n, 10n)]));
  assert.equal(d.changes[0]!.after, { balance: 0n, nonce: 1n });
  const r = applyBlock(mapStateView(m), block([transfer(keys[0]!, 0n, B, 991n, 10n)]), ctx);
  assert.equal(r, { ok: false, code: 'tx-insufficient-funds', detail: 'tx 0: balance 1000 < amount + fee 1001' });
  assert.is(codeOf(m, block([transfer(keys[0]!, 0n, B, 990n, 11n)])), 'tx-insufficient-funds');
  assert.is(codeOf(new Map(), block([transfer(keys[0]!, 0n, B, 1n, 0n)])), 'tx-insufficient-funds');
});

test('chained spends: a later tx spends what an earlier tx of the same block credited', () => {
  const m = stateMap([[A, 1000n]]);
  const ab = transfer(keys[0]!, 0n, B, 500n, 10n);
  const bc = transfer(keys[1]!, 0n, C, 480n, 20n);
  const ab2 = transfer(keys[0]!, 1n, C, 490n, 0n);
  const d = mustApply(m, block([ab, bc, ab2]));
  const after = new Map(d.changes.map((c) => [hex(c.address), c.after]));
  assert.equal(after.get(hex(A)), { balance: 0n, nonce: 2n });
  assert.equal(after.get(hex(B)), { balance: 0n, nonce: 1n });
  assert.equal(after.get(hex(C)), { balance: 970n, nonce: 0n });
  assert.is(d.fees, 30n);
  // First-touched order: A, B (credited by tx 0), C (credited by tx 1), then the miner.
  assert.equal(d.changes.map((c) => hex(c.address)), [hex(A), hex(B), hex(C), hex(MINER)]);
  // In the other order B has nothing yet.
  const r = applyBlock(mapStateView(m), block([bc, ab]), ctx);
  assert.ok(!r.ok && r.code === 'tx-insufficient-funds' && r.detail.startsWith('tx 0: '), JSON.stringify(r));
});

test('the miner is paid after the last tx: it cannot spend this block’s reward inside it', () => {
  const minerKey = keys[3]!;
  const miner = addr[3]!;
  const m = stateMap([[A, 1000n]]);
  const pay = transfer(keys[0]!, 0n, B, 100n, 50n);
  const spendReward = transfer(minerKey, 0n, B, 10n, 0n);
  const r = applyBlock(mapStateView(m), block([pay, spendReward], 1, miner), ctx);
  assert.ok(!r.ok && r.code === 'tx-insufficient-funds' && r.detail.startsWith('tx 1: '));
  // A miner that also sends in its own block is credited on top of its debit.
  const m2 = stateMap([[A, 1000n], [miner, 100n]]);
  const d = mustApply(m2, block([pay, transfer(minerKey, 0n, B, 60n, 5n)], 1, miner));
  const mc = d.changes.find((c) => hex(c.address) === hex(miner))!;
  assert.equal(mc.before, { balance: 100n, nonce: 0n });
  assert.equal(mc.after, { balance: 100n - 65n + SUBSIDY + 55n, nonce: 1n });
});

test('subsidy follows the halving schedule; a zero reward touches no account', () => {
  const halving: SectorParams = { ...sector, halvingInterval: 10 };
  const c = { ...ctx, sector: halving };
  assert.is(mustApply(new Map(), block([], 9), c).subsidy, sector.initialSubsidy);
  assert.is(mustApply(new Map(), block([], 10), c).subsidy, sector.initialSubsidy / 2n);
  const none = mustApply(new Map(), block([], 1), { ...ctx, sector: { ...sector, initialSubsidy: 0n } });
  assert.equal(none, { changes: [], fees: 0n, subsidy: 0n });
  assert.throws(() => applyBlock(mapStateView(new Map()), block([], 0), ctx), RangeError);
});

test('convert debits amount + fee and credits the amount to this sector’s treasury', () => {
  const m = stateMap([[A, 1000n], [TREASURY, 5n]]);
  const d = mustApply(m, block([convert(keys[0]!, 0n, 600n, 15n)]));
  assert.equal(
    d.changes.map((c) => [hex(c.address), c.after]),
    [
      [hex(A), { balance: 385n, nonce: 1n }],
      [hex(TREASURY), { balance: 605n, nonce: 0n }],
      [hex(MINER), { balance: SUBSIDY + 15n, nonce: 0n }],
    ],
  );
  assert.ok(!d.changes.some((c) => hex(c.address) === hex(treasuryAddress(2))));
  assert.is(codeOf(m, block([convert(keys[0]!, 0n, 990n, 11n)])), 'tx-insufficient-funds');
});

test('a transfer to self is allowed: the fee is paid and the nonce bumped, one change', () => {
  const m = stateMap([[A, 1000n]]);
  const d = mustApply(m, block([transfer(keys[0]!, 0n, A, 400n, 25n)]));
  assert.equal(d.changes[0], { address: A, before: { balance: 1000n, nonce: 0n }, after: { balance: 975n, nonce: 1n } });
  assert.is(d.changes.length, 2);
  // The whole balance can be sent to self only if the fee is covered too.
  assert.is(codeOf(m, block([transfer(keys[0]!, 0n, A, 1000n, 1n)])), 'tx-insufficient-funds');
});

test('balances never exceed 2^64 − 1: tx-balance-overflow, block-reward-overflow', () => {
  const m = stateMap([[A, 1000n], [B, U64_MAX - 5n]]);
  assert.is(codeOf(m, block([transfer(keys[0]!, 0n, B, 5n, 0n)])), 'ok');
  const r = applyBlock(mapStateView(m), block([transfer(keys[0]!, 0n, B, 6n, 0n)]), ctx);
  assert.ok(!r.ok && r.code === 'tx-balance-overflow' && r.detail.startsWith('tx 0: '));
  const rich = stateMap([[MINER, U64_MAX - SUBSIDY]]);
  assert.is(codeOf(rich, block([])), 'ok');
  const m2 = stateMap([[A, 1000n], [MINER, U64_MAX - SUBSIDY]]);
  assert.is(codeOf(m2, block([transfer(keys[0]!, 0n, B, 5n, 1n)])), 'block-reward-overflow');
  // The nonce field is u64 too: the last nonce cannot be used.
  const old = stateMap([[A, 1000n, U64_MAX]]);
  assert.is(codeOf(old, block([transfer(keys[0]!, U64_MAX, B, 5n, 1n)])), 'tx-nonce-exhausted');
});

test('signatures: verified by default, skipped on request; the other checkTx rules always run', () => {
  const m = stateMap([[A, 1000n]]);
  const good = transfer(keys[0]!, 0n, B, 10n);
  const forged: Tx = { ...good, signature: transfer(keys[0]!, 0n, B, 11n).signature };
  const r = applyBlock(mapStateView(m), block([good, { ...forged, nonce: 1n }]), ctx);
  assert.ok(!r.ok && r.code === 'tx-bad-signature' && r.detail.startsWith('tx 1: '), JSON.stringify(r));
  assert.is(codeOf(m, block([forged]), { ...ctx, verifySignatures: false }), 'ok');
  const otherChain = signTx(unsigned(keys[0]!, 0n, B, 10n, 1n, 2), keys[0]!.secretKey, nid);
  assert.is(codeOf(m, block([otherChain]), { ...ctx, verifySignatures: false }), 'tx-wrong-chain');
  // An injected verifier is used when verifying.
  let calls = 0;
  const counting = { ...ctx, verify: () => (calls++, true) };
  assert.is(codeOf(m, block([forged]), counting), 'ok');
  assert.is(calls, 1);
  assert.is(codeOf(m, block([forged]), { ...counting, verifySignatures: false }), 'ok');
  assert.is(calls, 1);
});

test('purity: a failing block and a passing block leave the input map and its values unchanged', () => {
  const m = frozen(stateMap([[A, 1000n], [B, 50n, 2n], [TREASURY, 1n]]));
  const snapshot = copyMap(m);
  const txs = [transfer(keys[0]!, 0n, B, 100n), convert(keys[1]!, 2n, 20n), transfer(keys[0]!, 1n, C, 10_000n)];
  const r = applyBlock(mapStateView(m), block(txs), ctx);
  assert.ok(!r.ok && r.code === 'tx-insufficient-funds' && r.detail.startsWith('tx 2: '));
  assert.equal(m, snapshot);
  const d = mustApply(m, block(txs.slice(0, 2)));
  assert.equal(m, snapshot);
  // The delta shares no objects with the view or the block.
  assert.ok(d.changes.every((c) => !Object.isFrozen(c.before)));
  assert.is.not(d.changes[1]!.address, (txs[0]!.payload as { to: Uint8Array }).to);
  d.changes[0]!.before.balance = 0n;
  assert.equal(m, snapshot);
});

test('applyTx is atomic: a failing tx leaves the overlay as it was', () => {
  const m = stateMap([[A, 1000n]]);
  const o = new StateOverlay(mapStateView(m));
  assert.equal(applyTx(o, transfer(keys[0]!, 0n, B, 100n, 3n), ctx), { ok: true, value: 3n });
  const before = o.changes();
  const r = applyTx(o, transfer(keys[0]!, 1n, C, 10_000n), ctx);
  assert.is(r.ok ? 'ok' : r.code, 'tx-insufficient-funds');
  assert.equal(o.changes(), before);
  assert.equal(o.account(A), { balance: 897n, nonce: 1n });
  assert.equal(m, stateMap([[A, 1000n]]));
});

test('checkTxAgainstState: the nonce and balance rules for one tx, same codes; nextNonce', () => {
  const v = mapStateView(stateMap([[A, 100n, 4n], [B, U64_MAX]]));
  const code = (t: Tx) => {
    const r = checkTxAgainstState(v, t);
    return r.ok ? 'ok' : r.code;
  };
  assert.is(nextNonce(v, A), 4n);
  assert.is(nextNonce(v, C), 0n);
  assert.is(code(transfer(keys[0]!, 4n, C, 90n, 10n)), 'ok');
  assert.is(code(transfer(keys[0]!, 3n, C, 1n)), 'tx-bad-nonce');
  assert.is(code(transfer(keys[0]!, 5n, C, 1n)), 'tx-bad-nonce');
  assert.is(code(transfer(keys[0]!, 4n, C, 91n, 10n)), 'tx-insufficient-funds');
  assert.is(code(transfer(keys[0]!, 4n, B, 1n, 0n)), 'tx-balance-overflow');
  assert.is(code(convert(keys[0]!, 4n, 50n)), 'ok');
});

test('genesisState: allocations in spec order on empty state, repeats summed, no subsidy', () => {
  const withAlloc: NetworkSpec = {
    ...spec,
    allocations: [
      { address: hex(B), amounts: { [sector.slug]: 5n * COIN, 'gpu-consumer': 7n } },
      { address: hex(A), amounts: { [sector.slug]: 3n } },
      { address: hex(C), amounts: { 'gpu-consumer': 9n } },
      { address: hex(B), amounts: { [sector.slug]: 1n } },
    ],
  };
  const g = genesisState(withAlloc, sector);
  assert.equal(g, {
    changes: [
      { address: B, before: { balance: 0n, nonce: 0n }, after: { balance: 5n * COIN + 1n, nonce: 0n } },
      { address: A, before: { balance: 0n, nonce: 0n }, after: { balance: 3n, nonce: 0n } },
    ],
    fees: 0n,
    subsidy: 0n,
  });
  // The devnet's own genesis funds its faucet and nobody else.
  const faucet = addressOf(keyPairFromSeed(devnetFaucetSeed()).publicKey);
  assert.equal(genesisState({ ...spec, allocations: devnetSpec().allocations }, sector), {
    changes: [{ address: faucet, before: { balance: 0n, nonce: 0n }, after: { balance: DEVNET_FAUCET_TOKENS, nonce: 0n } }],
    fees: 0n,
    subsidy: 0n,
  });
  assert.equal(genesisState({ ...spec, allocations: [] }, sector), { changes: [], fees: 0n, subsidy: 0n });
  const tooMuch: NetworkSpec = {
    ...spec,
    allocations: [
      { address: hex(A), amounts: { [sector.slug]: U64_MAX } },
      { address: hex(A), amounts: { [sector.slug]: 1n } },
    ],
  };
  assert.throws(() => genesisState(tooMuch, sector), RangeError);
});

test('undoDelta and applyDeltaToMap: connect then disconnect restores the map; out of order throws', () => {
  const m = stateMap([[A, 1000n]]);
  const initial = copyMap(m);
  const d = mustApply(m, block([transfer(keys[0]!, 0n, B, 100n)]));
  const undo = undoDelta(d);
  assert.equal(
    undo.map((c) => [hex(c.address), c.before, c.after]),
    [...d.changes].reverse().map((c) => [hex(c.address), c.after, c.before]),
  );
  assert.throws(() => applyDeltaToMap(m, d, 'disconnect'), RangeError);
  assert.equal(m, initial);
  applyDeltaToMap(m, d, 'connect');
  assert.equal(m.get(hex(B)), { balance: 100n, nonce: 0n });
  assert.throws(() => applyDeltaToMap(m, d, 'connect'), RangeError);
  applyDeltaToMap(m, d, 'disconnect');
  assert.equal(m, initial);
  assert.not.ok(m.has(hex(B)), 'an empty account is deleted, not stored as zero');
});

test('txsForMempoolReturn: every tx of the block, in order, in a new array', () => {
  const txs = [transfer(keys[0]!, 0n, B, 1n), transfer(keys[1]!, 0n, C, 2n), convert(keys[0]!, 1n, 3n)];
  const b = block(txs);
  const back = txsForMempoolReturn(b);
  assert.equal(back, txs);
  assert.is.not(back, b.body.txs);
  assert.equal(txsForMempoolReturn(block([])), []);
});

test('deltas are deterministic: the same block on equal states gives identical deltas', () => {
  const txs = [transfer(keys[2]!, 0n, A, 5n), transfer(keys[0]!, 0n, C, 7n), convert(keys[1]!, 0n, 9n)];
  const mk = () => stateMap([[C, 100n], [A, 100n], [B, 100n]]);
  const d1 = mustApply(mk(), block(txs));
  const d2 = mustApply(mk(), block(txs));
  assert.equal(d1, d2);
  assert.equal(d1.changes.map((c) => hex(c.address)), [hex(C), hex(A), hex(B), hex(TREASURY), hex(MINER)]);
});

// ---- model-based property test ----

/** An independent, naive model of the rules (small amounts: no overflow). */
function modelApply(m: Map<string, AccountState>, tx: Tx): string | null {
  const s = hex(addressOf(tx.from));
  const acc = m.get(s) ?? { balance: 0n, nonce: 0n };
  if (tx.nonce !== acc.nonce) return 'tx-bad-nonce';
  const spend = txAmount(tx.payload) + tx.fee;
  if (acc.balance < spend) return 'tx-insufficient-funds';
  m.set(s, { balance: acc.balance - spend, nonce: acc.nonce + 1n });
  const to = hex(tx.payload.kind === 'transfer' ? tx.payload.to : treasuryAddress(tx.chain));
  const r = m.get(to) ?? { balance: 0n, nonce: 0n };
  m.set(to, { balance: r.balance + txAmount(tx.payload), nonce: r.nonce });
  return null;
}

const intent = fc.record({
  from: fc.nat(3),
  to: fc.nat(4),
  convert: fc.boolean(),
  permille: fc.integer({ min: 1, max: 1100 }),
  fee: fc.bigInt({ min: 0n, max: 300n }),
  nonceShift: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.constant(-1), weight: 1 }, { arbitrary: fc.constant(1), weight: 1 }),
});

const scenario = fc.record({
  balances: fc.array(fc.bigInt({ min: 0n, max: 10_000n }), { minLength: 4, maxLength: 4 }),
  blocks: fc.array(fc.record({ miner: fc.nat(4), intents: fc.array(intent, { maxLength: 8 }) }), { minLength: 1, maxLength: 8 }),
  rollback: fc.nat(8),
});

const OTHER = new Uint8Array(20).fill(0x42); // an address no test key owns
const targets = [...addr, OTHER];
const ZERO_SIG = new Uint8Array(64);

test('property: random blocks match the model; supply grows by the subsidies; undo returns to genesis', () => {
  const halving: SectorParams = { ...sector, initialSubsidy: 1000n, halvingInterval: 3 };
  const c: ApplyContext = { sector: halving, networkId: nid, verifySignatures: false };
  fc.assert(
    fc.property(scenario, ({ balances, blocks, rollback }) => {
      const allocSpec: NetworkSpec = {
        ...spec,
        allocations: addr.map((a, i) => ({ address: hex(a), amounts: { [halving.slug]: balances[i]! } })),
      };
      const map = applyDeltaToMap(new Map(), genesisState(allocSpec, halving), 'connect');
      const model = copyMap(map);
      const snapshots = [copyMap(map)];
      const applied: { block: Block; delta: StateDelta }[] = [];
      for (let h = 1; h <= blocks.length; h++) {
        const { miner, intents } = blocks[h - 1]!;
        const minerAddr = targets[miner]!;
        // Build txs against the model as it evolves within the block.
        const txs: Tx[] = [];
        const accepted: Tx[] = [];
        let firstFail: { index: number; code: string } | undefined;
        let fees = 0n;
        for (const it of intents) {
          const cur = model.get(hex(addr[it.from]!)) ?? { balance: 0n, nonce: 0n };
          const shift = it.nonceShift === -1 && cur.nonce === 0n ? 1 : it.nonceShift;
          const amount = (cur.balance * BigInt(it.permille)) / 1000n || 1n;
          const u: UnsignedTx = it.convert
            ? { ...unsigned(keys[it.from]!, cur.nonce + BigInt(shift), OTHER, amount, it.fee), payload: { kind: 'convert', amount, minMain: 0n, mainTo: OTHER } }
            : unsigned(keys[it.from]!, cur.nonce + BigInt(shift), targets[it.to]!, amount, it.fee);
          const tx: Tx = { ...u, signature: ZERO_SIG };
          const code = modelApply(model, tx);
          if (code === null) {
            accepted.push(tx);
            fees += tx.fee;
          } else if (firstFail === undefined) firstFail = { index: txs.length, code };
          txs.push(tx);
        }
        const subsidy = blockSubsidy(halving, h);
        if (subsidy + fees > 0n) {
          const mm = model.get(hex(minerAddr)) ?? { balance: 0n, nonce: 0n };
          model.set(hex(minerAddr), { balance: mm.balance + subsidy + fees, nonce: mm.nonce });
        }
        const before = copyMap(map);
        // The whole block, invalid txs included: fails exactly where the model says, touching nothing.
        const full = applyBlock(mapStateView(map), block(txs, h, minerAddr), c);
        if (firstFail !== undefined) {
          assert.ok(!full.ok, 'block with an invalid tx must fail');
          if (!full.ok) {
            assert.is(full.code, firstFail.code);
            assert.ok(full.detail.startsWith(`tx ${firstFail.index}: `), full.detail);
          }
        } else assert.ok(full.ok);
        assert.equal(map, before);
        // The block of the txs the model accepted is valid and lands on the model's state.
        const b = block(accepted, h, minerAddr);
        const r = applyBlock(mapStateView(map), b, c);
        assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.detail}`);
        if (!r.ok) return;
        const d = r.value;
        assert.is(d.fees, fees);
        assert.is(d.subsidy, subsidy);
        assert.equal(new Set(d.changes.map((x) => hex(x.address))).size, d.changes.length);
        for (const x of d.changes) {
          assert.equal(x.before, map.get(hex(x.address)) ?? { balance: 0n, nonce: 0n });
          assert.ok(x.before.balance !== x.after.balance || x.before.nonce !== x.after.nonce, 'no no-op changes');
        }
        applyDeltaToMap(map, d, 'connect');
        assert.equal(map, model);
        assert.is(supply(map), supply(before) + subsidy);
        snapshots.push(copyMap(map));
        applied.push({ block: b, delta: d });
      }
      assert.is(supply(map), supply(snapshots[0]!) + applied.reduce((s, x) => s + x.delta.subsidy, 0n));
      // A reorg: disconnect the newest k blocks, check against the state recorded then, reconnect.
      const k = Math.min(rollback, applied.length);
      for (let i = applied.length - 1; i >= applied.length - k; i--) {
        applyDeltaToMap(map, applied[i]!.delta, 'disconnect');
        assert.equal(map, snapshots[i]);
      }
      for (let i = applied.length - k; i < applied.length; i++) {
        const again = applyBlock(mapStateView(map), applied[i]!.block, c);
        assert.ok(again.ok);
        if (again.ok) {
          assert.equal(again.value, applied[i]!.delta);
          applyDeltaToMap(map, again.value, 'connect');
        }
      }
      // Disconnect everything, newest first: exactly the genesis state.
      for (let i = applied.length - 1; i >= 0; i--) applyDeltaToMap(map, applied[i]!.delta, 'disconnect');
      assert.equal(map, snapshots[0]);
    }),
    { numRuns: 200 },
  );
});

test('signed block of many txs verifies and applies with signatures on', () => {
  const m = stateMap([[A, 10_000n], [B, 10_000n]]);
  const txs: Tx[] = [];
  for (let i = 0; i < 20; i++) {
    txs.push(transfer(keys[0]!, BigInt(i), B, 10n + BigInt(i), 1n));
    txs.push(transfer(keys[1]!, BigInt(i), addr[i % 4]!, 5n, 2n));
  }
  const d = mustApply(m, block(txs));
  const after = applyDeltaToMap(copyMap(m), d, 'connect');
  assert.equal(after.get(hex(A)), { balance: 10_000n - 20n * 11n - 190n + 25n, nonce: 20n });
  assert.is(d.fees, 60n);
  assert.is(supply(after), supply(m) + SUBSIDY);
});

test.run();
