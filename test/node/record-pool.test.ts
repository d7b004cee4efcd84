// The pool of MAIN records a node was assigned: offered to blocks of later
// windows only, oldest first; gone once a best-chain block carries them; back
// when a reorg disconnects that block; dropped when too old to record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../core/bytes.js';
import { emptyBody, type Block } from '../../core/block.js';
import { keyPairFromSeed } from '../../core/keys.js';
import { encodeMainRecord, type MainRecord } from '../../core/record.js';

const RECORD_WINDOWS = 24;
import { MAIN_CHAIN, signTx, txId } from '../../core/tx.js';
import { MainRecordPool } from '../../node/record-pool.js';

const key = keyPairFromSeed(new Uint8Array(32).fill(61));
const rec = (window: number, nonce: bigint): MainRecord => ({
  window,
  tx: signTx({ version: 1, chain: MAIN_CHAIN, from: key.publicKey, nonce, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20), amount: 1n } }, key.secretKey, new Uint8Array(32)),
});
const blockWith = (records: MainRecord[]): Block => ({
  header: {} as Block['header'],
  body: { ...emptyBody(new Uint8Array(20)), mainRecords: records.map(encodeMainRecord) },
  workProof: new Uint8Array(0),
});

test('records wait for a later window, leave with the block that carries them and return on a reorg', () => {
  const pool = new MainRecordPool(RECORD_WINDOWS);
  const a = rec(3, 0n);
  const b = rec(1, 1n);
  assert.ok(pool.add(a));
  assert.ok(pool.add(b));
  assert.not.ok(pool.add(a), 'the same tx once');
  assert.equal(pool.forBlock(1).mainRecords, [], 'no record in its own window or before');
  assert.equal(pool.forBlock(2).mainRecords, [encodeMainRecord(b)]);
  assert.equal(pool.forBlock(4).mainRecords, [encodeMainRecord(b), encodeMainRecord(a)], 'oldest window first');
  assert.equal(pool.forBlock(4, 1).mainRecords, [encodeMainRecord(b)]);

  // A block (mined here or by a peer) carrying a and another record of our sector.
  const c = rec(2, 9n);
  const block = blockWith([a, c]);
  pool.connected(block, 'x1');
  assert.equal(pool.forBlock(4).mainRecords, [encodeMainRecord(b)]);
  assert.is(pool.blockOf(toHex(txId(a.tx))), 'x1');
  assert.not.ok(pool.add(a), 'carried by the best chain');
  pool.disconnected(blockWith([a]), 'other');
  assert.is(pool.blockOf(toHex(txId(a.tx))), 'x1', 'only its own block returns it');
  pool.disconnected(block, 'x1');
  // Like txs to the mempool, every record of the disconnected block waits for a block again.
  assert.equal(pool.forBlock(4).mainRecords, [encodeMainRecord(b), encodeMainRecord(c), encodeMainRecord(a)]);
  assert.is(pool.blockOf(toHex(txId(a.tx))), undefined);
});

test('records too old to enter a block are dropped', () => {
  const pool = new MainRecordPool(RECORD_WINDOWS);
  pool.add(rec(0, 0n));
  pool.add(rec(10, 1n));
  assert.is(pool.forBlock(RECORD_WINDOWS + 1).mainRecords.length, 1);
  assert.is(pool.size, 1);
  assert.is(pool.forBlock(11).mainRecords.length, 1);
  // A carried record is remembered for reorgs only while it could still be recorded.
  const old = rec(12, 2n);
  pool.connected(blockWith([old]), 'b12');
  assert.is(pool.blockOf(toHex(txId(old.tx))), 'b12');
  pool.forBlock(12 + RECORD_WINDOWS + 1).mainRecords;
  assert.is(pool.blockOf(toHex(txId(old.tx))), undefined);
});

test.run();
