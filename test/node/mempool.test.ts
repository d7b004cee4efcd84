import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../core/bytes.js';
import { devnetSpec } from '../../core/params.js';
import { networkId } from '../../core/genesis.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import type { AccountState, StateView } from '../../core/state.js';
import { signTx, type Tx } from '../../core/tx.js';
import { DEFAULT_MEMPOOL, Mempool } from '../../node/mempool.js';

const nid = networkId(devnetSpec());
const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)));
const to = addressOf(keyPairFromSeed(new Uint8Array(32).fill(9)).publicKey);

function view(accounts: Record<string, AccountState>): StateView {
  return { account: (a) => accounts[toHex(a)] ?? { balance: 0n, nonce: 0n } };
}

const rich = view(Object.fromEntries(keys.map((k) => [toHex(addressOf(k.publicKey)), { balance: 1_000_000n, nonce: 5n }])));

function tx(key: number, nonce: bigint, fee: bigint, amount = 100n, chain = 1): Tx {
  return signTx({ version: 1, chain, from: keys[key]!.publicKey, nonce, fee, payload: { kind: 'transfer', to, amount } }, keys[key]!.secretKey, nid);
}

const pool = (over: Partial<typeof DEFAULT_MEMPOOL> = {}) => new Mempool({ ...DEFAULT_MEMPOOL, ...over, networkId: nid, chain: 1 });
const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code);

test('admission: signatures, duplicates, nonce window and funds', () => {
  const p = pool({ maxNonceGap: 3 });
  assert.is(code(p.add(tx(0, 5n, 10n), rich, 0)), 'ok');
  assert.is(code(p.add(tx(0, 5n, 10n), rich, 0)), 'mempool-duplicate');
  assert.is(code(p.add(tx(0, 4n, 10n), rich, 0)), 'mempool-nonce-too-low');
  assert.is(code(p.add(tx(0, 9n, 10n), rich, 0)), 'mempool-nonce-gap');
  assert.is(code(p.add(tx(0, 8n, 10n), rich, 0)), 'ok');
  assert.is(code(p.add(tx(1, 5n, 10n, 100n, 2), rich, 0)), 'tx-wrong-chain');
  const forged = tx(1, 5n, 10n);
  forged.signature[0]! ^= 1;
  assert.is(code(p.add(forged, rich, 0)), 'tx-bad-signature');
  // Pending spends add up: two txs of 600,000 cannot both fit a balance of 1,000,000.
  assert.is(code(p.add(tx(2, 5n, 1n, 600_000n), rich, 0)), 'ok');
  assert.is(code(p.add(tx(2, 6n, 1n, 600_000n), rich, 0)), 'mempool-insufficient-funds');
});

test('replacement needs a fee bump', () => {
  const p = pool({ replaceBumpPercent: 10 });
  const first = p.add(tx(0, 5n, 100n), rich, 0);
  assert.is(code(p.add(tx(0, 5n, 109n), rich, 0)), 'mempool-replacement-underpriced');
  const r = p.add(tx(0, 5n, 110n), rich, 0);
  assert.ok(r.ok && first.ok && r.value.replaced === first.value.txid);
  assert.is(p.size, 1);
});

test('when full, the cheapest tail is evicted for a better payer, else the newcomer is refused', () => {
  const p = pool({ maxCount: 2 });
  assert.is(code(p.add(tx(0, 5n, 50n), rich, 0)), 'ok');
  assert.is(code(p.add(tx(1, 5n, 10n), rich, 0)), 'ok');
  assert.is(code(p.add(tx(2, 5n, 5n), rich, 0)), 'mempool-full');
  const r = p.add(tx(2, 5n, 20n), rich, 0);
  assert.ok(r.ok && r.value.evicted !== undefined);
  assert.is(p.size, 2);
  assert.ok(p.entries().every((e) => e.tx.fee >= 20n));
});

test('block selection: fee-rate first, each sender in nonce order, gaps stop a sender', () => {
  const p = pool();
  p.add(tx(0, 5n, 1n), rich, 0);
  p.add(tx(0, 6n, 100n), rich, 0); // high fee but behind a cheap one
  p.add(tx(1, 5n, 50n), rich, 0);
  p.add(tx(2, 7n, 1000n), rich, 0); // gap: nonce 5 and 6 missing
  const picked = p.selectForBlock(rich, 10, 1 << 20);
  const order = picked.map((t) => `${keys.findIndex((k) => k.publicKey === t.from)}:${t.nonce}`);
  assert.equal(order, ['1:5', '0:5', '0:6']);
  assert.is(p.selectForBlock(rich, 1, 1 << 20).length, 1);
});

test('pruning after a block, and expiry', () => {
  const p = pool({ expiryMs: 1000 });
  const a = p.add(tx(0, 5n, 10n), rich, 0);
  p.add(tx(1, 5n, 10n), rich, 500);
  const after = view({ [toHex(addressOf(keys[1]!.publicKey))]: { balance: 1_000_000n, nonce: 6n } });
  const removed = p.pruneAfterConnect(a.ok ? [a.value.txid] : [], after);
  assert.is(removed.length, 2); // the included one, and key 1's spent nonce
  p.add(tx(3, 5n, 10n), rich, 0);
  p.add(tx(2, 5n, 10n), rich, 1500);
  assert.is(p.expire(1600).length, 1);
  assert.is(p.size, 1);
  assert.ok(p.bytes > 0);
});

test.run();
