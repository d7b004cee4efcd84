import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { toHex } from '../../core/bytes.js';
import {
  bodyInclusionProof,
  bodyRoot,
  emptyBody,
  encodeTx,
  genesisBlock,
  genesisId,
  networkId,
  devnetSpec,
  findSector,
  keyPairFromSeed,
  addressOf,
  signTx,
  checkBlock,
  checkHeaderContext,
  checkHeaderWork,
  expectedBits,
  blockId,
  blockSubsidy,
  verifyBodyInclusion,
  specProblems,
  encodeHeader,
  encodeMainRecord,
  MAIN_CHAIN,
  encodeWitnessRecord,
  txId,
  type Block,
  type BlockHeader,
  type NetworkSpec,
} from '../../core/index.js';

const gen = JSON.parse(readFileSync(new URL('../vectors/genesis.json', import.meta.url), 'utf8'));

test('genesis vectors of the default devnet spec', () => {
  const spec = devnetSpec();
  assert.equal(specProblems(spec), []);
  assert.is(spec.genesisTimeMs, gen.genesisTimeMs);
  assert.is(toHex(networkId(spec)), gen.networkId);
  for (const s of gen.sectors) {
    const sector = spec.sectors.find((x) => x.slug === s.slug)!;
    assert.is(toHex(encodeHeader(genesisBlock(spec, sector).header)), s.headerHex);
    assert.is(toHex(genesisId(spec, sector)), s.genesisId);
  }
});

test('genesis commits to the spec: any consensus number changes the ids', () => {
  const base = devnetSpec();
  const id = toHex(networkId(base));
  const variants: NetworkSpec[] = [
    devnetSpec(base.genesisTimeMs + 1),
    { ...base, main: { ...base.main, windowMs: 4_000 } },
    { ...base, main: { ...base.main, recordWindows: 20 } },
    { ...base, main: { ...base.main, fallbackWindows: 5 } },
    { ...base, limits: { ...base.limits, maxBlockTxs: 10 } },
    { ...base, sectors: base.sectors.map((s, i) => (i === 2 ? { ...s, selectionWeight: 9 } : s)) },
    { ...base, allocations: [{ address: '00'.repeat(20), amounts: { 'gpu-hi': 1n } }] },
  ];
  for (const v of variants) assert.is.not(toHex(networkId(v)), id);
});

// A devnet spec whose targets are trivially easy, so tests mine in microseconds.
const spec: NetworkSpec = {
  ...devnetSpec(1_000_000),
  sectors: devnetSpec().sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })),
};
const sector = spec.sectors[0]!;
const nid = networkId(spec);
const genesis = genesisBlock(spec, sector);
const alice = keyPairFromSeed(new Uint8Array(32).fill(1));
const bob = keyPairFromSeed(new Uint8Array(32).fill(2));

function mine(h: BlockHeader): BlockHeader {
  for (let n = 0n; ; n++) {
    const c = { ...h, nonce: n };
    if (checkHeaderWork(c, sector).ok) return c;
  }
}

function child(txs = [] as Block['body']['txs'], over: Partial<BlockHeader> = {}, mainRecords: Uint8Array[] = [], witnessRecords: Uint8Array[] = []): Block {
  const body = { ...emptyBody(addressOf(alice.publicKey)), txs, mainRecords, witnessRecords };
  const header = mine({
    version: 1,
    sectorId: sector.id,
    height: 1,
    prevHash: blockId(genesis.header),
    bodyRoot: bodyRoot(body),
    timeMs: genesis.header.timeMs + sector.blockTimeMs,
    bits: expectedBits(sector, genesis.header, genesis.header),
    workKind: 'hash',
    nonce: 0n,
    ...over,
  });
  return { header, body, workProof: new Uint8Array(0) };
}

const transfer = (nonce: bigint) =>
  signTx(
    { version: 1, chain: sector.id, from: alice.publicKey, nonce, fee: 10n, payload: { kind: 'transfer', to: addressOf(bob.publicKey), amount: 5n } },
    alice.secretKey,
    nid,
  );

const code = (b: Block) => {
  const r = checkBlock(b, spec, sector, { networkId: nid });
  return r.ok ? 'ok' : r.code;
};

test('a mined block with signed transfers passes checkBlock; its id is returned', () => {
  const b = child([transfer(0n), transfer(1n)]);
  const r = checkBlock(b, spec, sector, { networkId: nid });
  assert.ok(r.ok);
  if (r.ok) assert.is(toHex(r.value), toHex(blockId(b.header)));
  // The first block after genesis, on schedule, keeps the genesis target.
  assert.is(b.header.bits, genesis.header.bits);
});

test('checkBlock rejections carry stable codes', () => {
  const good = child([transfer(0n)]);
  assert.is(code({ ...good, header: { ...good.header, version: 2 } }), 'bad-version');
  assert.is(code({ ...good, header: { ...good.header, sectorId: 2 } }), 'bad-sector');
  assert.is(code({ ...good, header: { ...good.header, workKind: 'matmul' } }), 'bad-work-proof', 'a matmul header needs its work proof');
  assert.is(code({ ...good, workProof: new Uint8Array(1) }), 'bad-work-proof');
  assert.is(code({ ...good, body: { ...good.body, observations: [new Uint8Array(1)] } }), 'section-not-active');
  assert.is(code({ ...good, body: { ...good.body, taskRecords: [new Uint8Array(1)] } }), 'section-not-active');
  assert.is(code({ ...good, body: { ...good.body, miner: addressOf(bob.publicKey) } }), 'bad-body-root');
  const dup = child([transfer(0n), transfer(0n)]);
  assert.is(code(dup), 'bad-txns-duplicate');
  const badSig = transfer(3n);
  badSig.signature[0]! ^= 1;
  assert.is(code(child([badSig])), 'tx-bad-signature');
  // A header that misses its target: search for a nonce whose hash is above it.
  const hard = { ...good.header, bits: 0x1d00ffff };
  assert.is(code({ ...good, header: hard }), 'high-hash');
  assert.is(code({ ...good, header: { ...good.header, bits: 0x01003456 } }), 'bad-bits');
});

test('header context: parent, height, bits, median-time-past and the future limit', () => {
  const b = child();
  const ctx = {
    parent: genesis.header,
    parentId: blockId(genesis.header),
    parentMtpMs: genesis.header.timeMs,
    expectedBits: expectedBits(sector, genesis.header, genesis.header),
    nowMs: b.header.timeMs,
    maxFutureBlockTimeMs: spec.limits.maxFutureBlockTimeMs,
  };
  const c = (h: BlockHeader, x = ctx) => {
    const r = checkHeaderContext(h, x);
    return r.ok ? 'ok' : r.code;
  };
  assert.is(c(b.header), 'ok');
  assert.is(c({ ...b.header, prevHash: new Uint8Array(32) }), 'bad-prevblk');
  assert.is(c({ ...b.header, height: 2 }), 'bad-height');
  assert.is(c({ ...b.header, bits: b.header.bits - 1 }), 'bad-diffbits');
  assert.is(c({ ...b.header, timeMs: genesis.header.timeMs }), 'time-too-old');
  assert.is(c({ ...b.header, timeMs: ctx.nowMs + spec.limits.maxFutureBlockTimeMs + 1 }), 'time-too-new');
  assert.is(c({ ...b.header, timeMs: ctx.nowMs + spec.limits.maxFutureBlockTimeMs }), 'ok');
});

test('ASERT through expectedBits: slow blocks ease the target, fast blocks harden it', () => {
  const real = devnetSpec(1_000_000);
  const s = real.sectors[0]!;
  const g = genesisBlock(real, s).header;
  const late = { ...g, height: 10, timeMs: g.timeMs + 10 * s.blockTimeMs + s.asertHalfLifeMs };
  const early = { ...g, height: 10, timeMs: g.timeMs + 10 * s.blockTimeMs - s.asertHalfLifeMs };
  const onTime = { ...g, height: 10, timeMs: g.timeMs + 10 * s.blockTimeMs };
  assert.is(expectedBits(s, g, onTime), g.bits);
  // One half-life behind schedule doubles the target; one ahead halves it.
  assert.is(expectedBits(s, g, late), 0x1f01fffe);
  assert.is(expectedBits(s, g, early), 0x1e7fff80);
});

test('body inclusion proofs bind an entry to the header body root', () => {
  const txs = [transfer(0n), transfer(1n), transfer(2n)];
  const b = child(txs);
  const proof = bodyInclusionProof(b.body, 'txs', 1);
  assert.ok(verifyBodyInclusion(encodeTx(txs[1]!), proof, b.header.bodyRoot));
  assert.not.ok(verifyBodyInclusion(encodeTx(txs[2]!), proof, b.header.bodyRoot));
  assert.not.ok(verifyBodyInclusion(encodeTx(txs[1]!), { ...proof, miner: new Uint8Array(20) }, b.header.bodyRoot));
  assert.not.ok(verifyBodyInclusion(encodeTx(txs[1]!), { ...proof, section: 'mainRecords' }, b.header.bodyRoot));
});

test('subsidy halves on schedule', () => {
  assert.is(blockSubsidy(sector, 0), sector.initialSubsidy);
  assert.is(blockSubsidy(sector, sector.halvingInterval - 1), sector.initialSubsidy);
  assert.is(blockSubsidy(sector, sector.halvingInterval), sector.initialSubsidy / 2n);
  assert.is(blockSubsidy(sector, sector.halvingInterval * 64), 0n);
});

test('spec problems are reported', () => {
  const bad = { ...devnetSpec(), sectors: devnetSpec().sectors.slice(0, 2) };
  assert.ok(specProblems(bad).some((p) => p.includes('too few sectors')));
  const dup = { ...devnetSpec(), sectors: [...devnetSpec().sectors, devnetSpec().sectors[0]!] };
  assert.ok(specProblems(dup).length > 0);
});

test('MAIN records: a signed MAIN tx of an ended, recent window; anything else refused with a code', () => {
  const windowMs = spec.main.windowMs;
  // Block 1's time sits in window 0 of this spec (genesis + one block time); give it room to be later.
  const at = (w: number) => ({ timeMs: spec.genesisTimeMs + w * windowMs + 1 });
  const mainTx = (nonce: bigint, chain = MAIN_CHAIN) =>
    signTx({ version: 1, chain, from: alice.publicKey, nonce, fee: 1n, payload: { kind: 'transfer', to: addressOf(bob.publicKey), amount: 2n } }, alice.secretKey, nid);
  const rec = (window: number, tx = mainTx(0n)) => encodeMainRecord({ window, tx });
  const withRecords = (w: number, records: Uint8Array[]) => code(child([], at(w), records));
  assert.is(withRecords(5, [rec(4), rec(3, mainTx(1n))]), 'ok');
  assert.is(withRecords(5, [rec(5)]), 'main-record-too-early');
  assert.is(withRecords(5 + spec.main.recordWindows, [rec(4)]), 'main-record-too-late');
  assert.is(withRecords(5 + spec.main.recordWindows - 1, [rec(4)]), 'ok');
  assert.is(withRecords(5, [rec(4), rec(3)]), 'bad-main-record-duplicate');
  assert.is(withRecords(5, [rec(4, mainTx(0n, sector.id))]), 'bad-main-record');
  assert.is(withRecords(5, [new Uint8Array([1, 2, 3])]), 'bad-main-record');
  const forged = mainTx(0n);
  forged.signature[3]! ^= 1;
  assert.is(withRecords(5, [rec(4, forged)]), 'tx-bad-signature');
  // Signed for another network: the signature does not verify here.
  const foreign = signTx({ ...mainTx(0n) }, alice.secretKey, new Uint8Array(32).fill(9));
  assert.is(withRecords(5, [rec(4, foreign)]), 'tx-bad-signature');
});

test('witness records: a signed convert tx of another sector with its lock proof, in an ended, recent window; anything else refused with a code', () => {
  const windowMs = spec.main.windowMs;
  const at = (w: number) => ({ timeMs: spec.genesisTimeMs + w * windowMs + 1 });
  const origin = spec.sectors[2]!;
  const convert = (nonce: bigint, chain = origin.id) =>
    signTx({ version: 1, chain, from: alice.publicKey, nonce, fee: 1n, payload: { kind: 'convert', amount: 9n, minMain: 0n, mainTo: addressOf(bob.publicKey) } }, alice.secretKey, nid);
  // The lock's block body on the origin: the proof travels inside the entry.
  const lockBody = (tx: Block['body']['txs'][number]) => ({ ...emptyBody(addressOf(alice.publicKey)), txs: [tx] });
  const entry = (window: number, tx = convert(0n), originSector = origin.id, section: 'txs' | 'mainRecords' = 'txs') =>
    encodeWitnessRecord({ window, originSector, originBlock: new Uint8Array(32).fill(7), lock: { kind: 'tx', tx }, lockProof: { ...bodyInclusionProof(lockBody(tx), 'txs', 0), section } });
  const withWitness = (w: number, entries: Uint8Array[]) => code(child([], at(w), [], entries));
  assert.is(withWitness(5, [entry(4), entry(3, convert(1n))]), 'ok');
  assert.is(withWitness(5, [entry(5)]), 'witness-record-too-early');
  assert.is(withWitness(5 + spec.main.recordWindows, [entry(4)]), 'witness-record-too-late');
  assert.is(withWitness(5, [entry(4), entry(3)]), 'bad-witness-record-duplicate');
  // The block's own sector does not witness itself; the tx must be a convert of the named origin.
  assert.is(withWitness(5, [entry(4, convert(0n, sector.id), sector.id)]), 'bad-witness-record');
  assert.is(withWitness(5, [entry(4, convert(0n), spec.sectors[1]!.id)]), 'bad-witness-record');
  assert.is(withWitness(5, [entry(4, convert(0n), origin.id, 'mainRecords')]), 'bad-witness-record');
  assert.is(withWitness(5, [new Uint8Array([1, 2, 3])]), 'bad-witness-record');
  const forged = convert(0n);
  forged.signature[5]! ^= 1;
  assert.is(withWitness(5, [entry(4, forged)]), 'tx-bad-signature');
  assert.ok(txId(convert(0n)).length === 32);
});

test('findSector takes an id, its decimal text, or a slug', () => {
  const s = devnetSpec();
  for (const key of [3, '3', 'cpu-edge']) assert.is(findSector(s, key)?.slug, 'cpu-edge', String(key));
  for (const key of [9, '9', '03x', 'nope', '']) assert.is(findSector(s, key), undefined, String(key));
});

test.run();
