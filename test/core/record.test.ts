// MAIN and witness record entries: exact layout, round trips, and coded
// refusals of malformed bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../core/bytes.js';
import { tryDecode } from '../../core/errors.js';
import { keyPairFromSeed } from '../../core/keys.js';
import { bodyInclusionProof, emptyBody } from '../../core/block.js';
import { decodeLock, encodeLock, lockId } from '../../core/lock.js';
import { decodeMainRecord, decodeWitnessRecord, encodeMainRecord, encodeWitnessRecord } from '../../core/record.js';
import { encodeSettlement } from '../../core/settlement.js';
import { encodeTx, signTx, type Tx } from '../../core/tx.js';

const key = keyPairFromSeed(new Uint8Array(32).fill(5));
const tx: Tx = signTx(
  { version: 1, chain: 0, from: key.publicKey, nonce: 3n, fee: 2n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(1), amount: 9n } },
  key.secretKey,
  new Uint8Array(32),
);

/** The code a decoder refuses with ('ok' when it decodes). */
function codeOf(decode: () => unknown): string {
  const r = tryDecode(decode);
  return r.ok ? 'ok' : r.code;
}

test('a MAIN record is version, window (u64 LE) and the signed tx', () => {
  const bytes = encodeMainRecord({ window: 258, tx });
  assert.is(toHex(bytes.slice(0, 9)), '01' + '0201000000000000');
  assert.equal(bytes.slice(9), encodeTx(tx));
  assert.equal(decodeMainRecord(bytes), { window: 258, tx });
});

test('a witness record names the origin sector and block before the tx, and ends with the lock proof', () => {
  const body = { ...emptyBody(new Uint8Array(20).fill(4)), txs: [tx, { ...tx, nonce: 4n }] };
  const lockProof = bodyInclusionProof(body, 'txs', 1);
  const rec = { window: 7, originSector: 3, originBlock: new Uint8Array(32).fill(0xab), lock: { kind: 'tx' as const, tx }, lockProof };
  const bytes = encodeWitnessRecord(rec);
  assert.is(toHex(bytes.slice(0, 13)), '01' + '0700000000000000' + '03000000');
  assert.equal(bytes.slice(13, 45), rec.originBlock);
  const txLen = encodeTx(tx).length;
  assert.equal(bytes.slice(45, 45 + txLen), encodeTx(tx));
  // Proof: section 0 (txs), index 1, size 2, one path hash, the miner, six roots.
  assert.is(toHex(bytes.slice(45 + txLen, 45 + txLen + 9)), '00' + '01000000' + '02000000');
  assert.is(bytes.length, 45 + txLen + 9 + 1 + 32 + 20 + 6 * 32);
  assert.equal(decodeWitnessRecord(bytes), rec);
  // The index must lie below the size; unknown sections are refused.
  const at = 45 + txLen;
  const badIndex = Uint8Array.from(bytes);
  badIndex.set([2, 0, 0, 0], at + 1);
  assert.is(codeOf(() => decodeWitnessRecord(badIndex)), 'codec-out-of-range');
  const badSection = Uint8Array.from(bytes);
  badSection[at] = 9;
  assert.is(codeOf(() => decodeWitnessRecord(badSection)), 'codec-bad-enum');
  assert.is(codeOf(() => decodeWitnessRecord(bytes.slice(0, bytes.length - 1))), 'codec-truncated');
});

test('a recycle lock: 0xff ‖ sector ‖ entry as a lock, version 2 as a witness record; both decode back, hostile bytes give codec codes', () => {
  const entry = { kind: 'recycle' as const, epoch: 9n, account: new Uint8Array(20).fill(3), amount: 77n };
  const lock = { kind: 'recycle' as const, sector: 2, entry };
  const raw = encodeLock(lock);
  assert.is(toHex(raw.slice(0, 5)), 'ff' + '02000000');
  assert.equal(raw.slice(5), encodeSettlement(entry));
  assert.equal(decodeLock(raw), lock);
  assert.equal(decodeLock(encodeLock({ kind: 'tx', tx })), { kind: 'tx', tx });
  assert.is(toHex(lockId(lock)).length, 64);
  assert.not.equal(lockId(lock), lockId({ ...lock, sector: 3 }));
  assert.is(codeOf(() => decodeLock(raw.slice(0, 41))), 'codec-truncated');
  assert.is(codeOf(() => decodeLock(Uint8Array.of(...raw, 0))), 'codec-trailing-bytes');
  // A release settlement is no recycle lock.
  const release = encodeSettlement({ kind: 'release', seq: 0n, window: 1, id: new Uint8Array(32), to: new Uint8Array(20), amount: 1n });
  assert.is(codeOf(() => decodeLock(Uint8Array.of(0xff, 2, 0, 0, 0, ...release))), 'codec-truncated');
  const body = { ...emptyBody(new Uint8Array(20).fill(4)), settlements: [encodeSettlement(entry)] };
  const rec = { window: 7, originSector: 2, originBlock: new Uint8Array(32).fill(0xcd), lock, lockProof: bodyInclusionProof(body, 'settlements', 0) };
  const bytes = encodeWitnessRecord(rec);
  assert.is(toHex(bytes.slice(0, 13)), '02' + '0700000000000000' + '02000000');
  assert.equal(bytes.slice(45, 82), encodeSettlement(entry));
  assert.equal(decodeWitnessRecord(bytes), rec);
  assert.throws(() => encodeWitnessRecord({ ...rec, originSector: 3 }), /origin sector/);
  const kindless = Uint8Array.from(bytes);
  kindless[45] = 0;
  assert.match(codeOf(() => decodeWitnessRecord(kindless)), /^codec-/);
  assert.is(codeOf(() => decodeWitnessRecord(Uint8Array.of(3, ...bytes.slice(1)))), 'codec-bad-enum');
});

test('malformed records are refused with codec codes', () => {
  const good = encodeMainRecord({ window: 1, tx });
  assert.is(codeOf(() => decodeMainRecord(Uint8Array.of(2, ...good.slice(1)))), 'codec-bad-enum');
  assert.is(codeOf(() => decodeMainRecord(good.slice(0, 20))), 'codec-truncated');
  assert.is(codeOf(() => decodeMainRecord(Uint8Array.of(...good, 0))), 'codec-trailing-bytes');
  const huge = Uint8Array.from(good);
  huge.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 1);
  assert.is(codeOf(() => decodeMainRecord(huge)), 'codec-out-of-range');
  assert.throws(() => encodeMainRecord({ window: -1, tx }), RangeError);
});

test.run();
