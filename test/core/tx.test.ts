import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../core/bytes.js';
import { keyPairFromSeed, addressOf, encodeAddress } from '../../core/keys.js';
import { checkTx, decodeTx, encodeTx, encodeUnsignedTx, signTx, txId, type Tx, type UnsignedTx } from '../../core/tx.js';
import { devnetSpec } from '../../core/params.js';
import { networkId } from '../../core/genesis.js';
import { U64_MAX } from '../../core/codec.js';

const vec = JSON.parse(readFileSync(new URL('../vectors/tx.json', import.meta.url), 'utf8'));
const nid = fromHex(vec.networkId);

function parseTx(v: any): UnsignedTx {
  const kp = keyPairFromSeed(fromHex(v.signerSeed));
  const p = v.tx.payload;
  const payload =
    p.kind === 'transfer'
      ? { kind: 'transfer' as const, to: fromHex(p.to), amount: BigInt(p.amount) }
      : { kind: 'convert' as const, amount: BigInt(p.amount), minMain: BigInt(p.minMain), mainTo: fromHex(p.mainTo) };
  return { version: v.tx.version, chain: v.tx.chain, from: kp.publicKey, nonce: BigInt(v.tx.nonce), fee: BigInt(v.tx.fee), payload };
}

test('the vectors use the default devnet network id', () => {
  assert.is(toHex(networkId(devnetSpec())), vec.networkId);
  for (const k of vec.keys) {
    const kp = keyPairFromSeed(fromHex(k.seed));
    assert.is(toHex(kp.publicKey), k.publicKey);
    assert.is(encodeAddress(addressOf(kp.publicKey), 'tpouw'), k.address);
  }
});

test('tx vectors: encoding, id, deterministic signature, decode', () => {
  for (const v of vec.vectors) {
    const u = parseTx(v);
    assert.is(toHex(encodeUnsignedTx(u)), v.unsignedHex);
    assert.is(toHex(txId(u)), v.txid);
    const s = signTx(u, keyPairFromSeed(fromHex(v.signerSeed)).secretKey, nid);
    assert.is(toHex(s.signature), v.signature);
    assert.is(toHex(encodeTx(s)), v.hex);
    assert.equal(decodeTx(fromHex(v.hex)), s);
    const r = checkTx(s, { networkId: nid, chain: u.chain });
    assert.ok(r.ok, JSON.stringify(r));
  }
});

function signed(overrides: Partial<UnsignedTx> = {}): Tx {
  const u = { ...parseTx(vec.vectors[0]), ...overrides };
  return signTx(u, keyPairFromSeed(fromHex(vec.vectors[0].signerSeed)).secretKey, nid);
}

const codeOf = (t: Tx, chain = 1) => {
  const r = checkTx(t, { networkId: nid, chain });
  return r.ok ? 'ok' : r.code;
};

test('checkTx rejects with stable codes', () => {
  assert.is(codeOf(signed()), 'ok');
  assert.is(codeOf(signed(), 2), 'tx-wrong-chain');
  const zero = signed({ payload: { kind: 'transfer', to: new Uint8Array(20), amount: 0n } });
  assert.is(codeOf(zero), 'tx-zero-amount');
  const overflow = signed({ fee: U64_MAX, payload: { kind: 'transfer', to: new Uint8Array(20), amount: 1n } });
  assert.is(codeOf(overflow), 'tx-spend-overflow');
  const mainConvert = signed({ chain: 0, payload: { kind: 'convert', amount: 1n, minMain: 0n, mainTo: new Uint8Array(20) } });
  assert.is(codeOf(mainConvert, 0), 'tx-convert-on-main');
  const t = signed();
  assert.is(codeOf({ ...t, nonce: t.nonce + 1n }), 'tx-bad-signature');
  const flipped = t.signature.slice();
  flipped[5]! ^= 1;
  assert.is(codeOf({ ...t, signature: flipped }), 'tx-bad-signature');
  // The same tx signed for another network does not verify here.
  const other = signTx(parseTx(vec.vectors[0]), keyPairFromSeed(fromHex(vec.vectors[0].signerSeed)).secretKey, new Uint8Array(32));
  assert.is(codeOf(other), 'tx-bad-signature');
  assert.is(codeOf({ ...t, version: 2 }), 'tx-bad-version');
});

test('the txid excludes the signature; the id changes with every signed field', () => {
  const t = signed();
  assert.is(toHex(txId(t)), toHex(txId({ ...t, signature: new Uint8Array(64) } as Tx)));
  assert.is.not(toHex(txId(t)), toHex(txId({ ...t, fee: t.fee + 1n })));
  assert.is.not(toHex(txId(t)), toHex(txId({ ...t, chain: 2 })));
});

test('an injected verifier is used', () => {
  let calls = 0;
  const r = checkTx(signed(), { networkId: nid, chain: 1, verify: () => (calls++, false) });
  assert.is(calls, 1);
  assert.is(r.ok ? 'ok' : r.code, 'tx-bad-signature');
});

test.run();
