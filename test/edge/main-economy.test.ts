// The MAIN economy through the edge and a node's own fold, in-process on a
// scripted clock: a conversion witnessed by two drawn sectors is minted once
// its window is decided, with the same root at the edge and on a node that
// recomputed it from its own header view; a MAIN transfer whose primary
// stays silent is pushed to the next sector of the order after the primary's
// deadline, becomes final with it, and a late primary record does not count;
// recording miners are paid at the batch price; a lying edge is caught;
// hostile window data stores nothing; `treasury audit` finds a tampered store.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EdgeApi } from '../../api/client.js';
import { proofJson } from '../../api/codec.js';
import type { MainStateJson } from '../../api/main.js';
import { bodyInclusionProof, type Block } from '../../core/block.js';
import { fromHex, toHex } from '../../core/bytes.js';
import { networkId } from '../../core/genesis.js';
import { blockId, encodeHeader } from '../../core/header.js';
import { addressOf, encodeAddress, keyPairFromSeed } from '../../core/keys.js';
import { mainTreasuryAddress } from '../../core/main-ledger.js';
import { devnetFaucetSeed } from '../../core/params.js';
import { encodeMainRecord, encodeWitnessRecord } from '../../core/record.js';
import { encodeSettlement, matchSettlements, settlementOf } from '../../core/settlement.js';
import { encodeLock, lockId, type Lock } from '../../core/lock.js';
import { windowEnd, windowOf } from '../../core/time.js';
import { encodeTx, MAIN_CHAIN, signTx, txId, type Tx } from '../../core/tx.js';
import { createApp } from '../../edge/app.js';
import { Coordinator } from '../../edge/coordinator.js';
import type { Push } from '../../edge/messages.js';
import { betterSqlite } from '../../edge/sql.js';
import { HeaderView } from '../../node/header-view.js';
import { MainView, type MainViewEvent } from '../../node/main-view.js';
import { openStore } from '../../node/store.js';
import { Chains, MINER, testSpec } from './fixtures.js';

const G = 1_800_000_000_000;
const spec = testSpec(G);
const W = spec.main.windowMs;
const nid = networkId(spec);
const NODE = 'aa'.repeat(32);
const faucet = keyPairFromSeed(devnetFaucetSeed());
const alice = keyPairFromSeed(new Uint8Array(32).fill(71));
const bob = keyPairFromSeed(new Uint8Array(32).fill(72));

let clock = G + 100;
const db = new Database(':memory:');
const edge = new Coordinator(betterSqlite(db), { spec, now: () => clock });
const pushes: Push[] = [];
const app = createApp({ backend: edge, hub: { accept: () => new Response(null, { status: 501 }), publish: (p) => void pushes.push(...p) }, clientIp: () => '127.0.0.1' });
const api = new EdgeApi({ url: 'http://edge.test', fetch: (input, init) => Promise.resolve(app.request(input as string, init)) });
const chains = new Chains(spec);
const home = mkdtempSync(join(tmpdir(), 'pouw-main-'));

const encodeAddr = (k: { publicKey: Uint8Array }) => encodeAddress(addressOf(k.publicKey), spec.addressPrefix);
/** One request to the coordinator, its pushes kept as the runtime would deliver them. */
const call = (req: Parameters<Coordinator['handle']>[0]) => {
  const r = edge.handle(req);
  pushes.push(...r.pushes);
  return r;
};
const ok = (r: { status: number; body: unknown }, what: string) => {
  assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as any;
};
const relay = (id: number, blocks: Block[]) =>
  ok(call({ op: 'headers', params: { sector: String(id) }, nodeKey: NODE, body: { headers: blocks.map((b) => toHex(encodeHeader(b.header))) } }), `relay ${id}`);
/** Every sector: `count` blocks right after window `w` ends, so their median-time-past (at depth 3 too) passes it. */
const settlePast = (w: number, count = 10) => {
  clock = windowEnd(w, G, W) + 50;
  for (const s of spec.sectors) relay(s.id, chains.burstAfter(s.id, windowEnd(w, G, W), count));
};
const report = (kind: 'main' | 'witness', txid: string, b: Block, section: 'mainRecords' | 'witnessRecords') =>
  call({ op: kind === 'main' ? 'main-record' : 'conversion-record', params: { txid }, nodeKey: NODE, body: { sectorId: b.header.sectorId, header: toHex(encodeHeader(b.header)), proof: proofJson(bodyInclusionProof(b.body, section, 0)) } });
const status = (op: 'main-status' | 'conversion-status', txid: string) => ok(call({ op, params: { txid } }), op);
const pushedTo = (type: string, txid: string) => pushes.filter((p) => (p.message as any).type === type && (p.message as any).txid === txid).flatMap((p) => p.sectors);

/** A node's view of every sector, fed the headers the chains hold (as the edge relays them). */
function nodeView(maxHeaders?: number): { view: HeaderView; feed: () => void } {
  const view = new HeaderView(spec, { maxHeaders });
  const fed = new Map<number, number>();
  const feed = () => {
    for (const s of spec.sectors) {
      const list = chains.chain(s.id);
      for (let h = (fed.get(s.id) ?? 0) + 1; h < list.length; h++) assert.ok(view.add(s.id, list[h]!.header, clock).ok);
      fed.set(s.id, list.length - 1);
    }
  };
  return { view, feed };
}

const convertTx = signTx(
  { version: 1, chain: 3, from: faucet.publicKey, nonce: 0n, fee: 1000n, payload: { kind: 'convert', amount: 5_000n * 100_000_000n, minMain: 0n, mainTo: addressOf(alice.publicKey) } },
  faucet.secretKey,
  nid,
);
const convTxid = toHex(txId(convertTx));
let convWindow = 0;
let lockBlock: Block;

test.after(() => {
  db.close();
  rmSync(home, { recursive: true, force: true });
});

test('a conversion witnessed by its two drawn sectors is minted once its window is decided', () => {
  // The lock, buried three deep on its origin (cpu-edge).
  lockBlock = chains.extend(3, { timeMs: clock, body: { txs: [convertTx] } });
  relay(3, [lockBlock, chains.extend(3, { timeMs: clock + 1 }), chains.extend(3, { timeMs: clock + 2 })]);
  const intake = ok(
    call({ op: 'conversion-submit', nodeKey: NODE, body: { tx: toHex(encodeTx(convertTx)), header: toHex(encodeHeader(lockBlock.header)), proof: proofJson(bodyInclusionProof(lockBlock.body, 'txs', 0)) } }),
    'conversion intake',
  );
  convWindow = intake.window;
  settlePast(convWindow);
  const assigned = status('conversion-status', convTxid);
  assert.is(assigned.status, 'assigned');
  assert.equal(pushedTo('witness-request', convTxid).sort(), [...assigned.assigned].sort());
  assert.not.ok(assigned.order.includes(3), 'the origin never witnesses itself');
  // Both primaries write the witness record with the lock proof their request carried.
  const entry = encodeWitnessRecord({ window: convWindow, originSector: 3, originBlock: blockId(lockBlock.header), lock: { kind: 'tx', tx: convertTx }, lockProof: bodyInclusionProof(lockBlock.body, 'txs', 0) });
  for (const p of assigned.assigned as number[]) {
    const b = chains.extend(p, { timeMs: clock + 10, body: { witnessRecords: [entry] } });
    relay(p, [b]);
    assert.is(report('witness', convTxid, b, 'witnessRecords').status, 201);
  }
  // Counted once buried: final by the edge's early answer, not yet decided.
  for (const s of spec.sectors) relay(s.id, [chains.extend(s.id, { timeMs: clock + 20 }), chains.extend(s.id, { timeMs: clock + 21 }), chains.extend(s.id, { timeMs: clock + 22 })]);
  const witnessed = status('conversion-status', convTxid);
  assert.equal([witnessed.status, witnessed.decided, witnessed.counted.length], ['final', false, 2]);
  assert.is((ok(call({ op: 'main-state' }), 'state') as MainStateJson).window, -1, 'nothing is folded before the window is decided');
  // Every sector settled past w + recordWindows: the window is decided and folded.
  settlePast(convWindow + spec.main.recordWindows);
  const state = ok(call({ op: 'main-state' }), 'state') as MainStateJson;
  assert.is(state.window, convWindow);
  const minted = BigInt(state.minted);
  assert.ok(minted > 0n);
  assert.is(BigInt(state.supply), minted);
  const acct = ok(call({ op: 'main-account', params: { address: encodeAddr(alice) } }), 'account');
  assert.is(BigInt(acct.balance), minted);
  const p3 = state.pools.find((p) => p.sectorId === 3)!;
  assert.is(BigInt(p3.locked), convertTx.payload.kind === 'convert' ? convertTx.payload.amount : 0n);
});


let transferTxid = '';
let transfer: Tx;
let counted: number[] = [];

test('a primary that stays silent is replaced by the next sector of the order after its deadline; its late record does not count', async () => {
  const balance = BigInt(ok(call({ op: 'main-account', params: { address: encodeAddr(alice) } }), 'account').balance);
  transfer = signTx({ version: 1, chain: MAIN_CHAIN, from: alice.publicKey, nonce: 0n, fee: 1_000_000n, payload: { kind: 'transfer', to: addressOf(bob.publicKey), amount: balance / 2n } }, alice.secretKey, nid);
  clock = windowEnd(windowOf(clock, G, W), G, W) - 500;
  const intake = ok(call({ op: 'main-submit', body: { tx: toHex(encodeTx(transfer)) } }), 'main intake');
  transferTxid = intake.txid;
  const w = intake.window as number;
  settlePast(w);
  const s = status('main-status', transferTxid);
  const [p1, p2] = s.assigned as number[];
  const f1 = (s.fallback as number[])[0]!;
  const entry = encodeMainRecord({ window: w, tx: transfer });
  const b1 = chains.extend(p1!, { timeMs: clock + 10, body: { mainRecords: [entry] } });
  relay(p1!, [b1]);
  assert.is(report('main', transferTxid, b1, 'mainRecords').status, 201);
  assert.equal(pushedTo('main-assignment', transferTxid).sort(), [p1, p2].sort());
  // Window w + fallbackWindows ends with no record of p2: the next request pushes the tx to the first fallback.
  settlePast(w + spec.main.fallbackWindows);
  assert.equal(pushedTo('main-assignment', transferTxid).filter((x) => x === f1), [f1]);
  assert.equal(status('main-status', transferTxid).fallbackSent, [f1]);
  const bf = chains.extend(f1, { timeMs: clock + 10, body: { mainRecords: [entry] } });
  relay(f1, [bf]);
  assert.is(report('main', transferTxid, bf, 'mainRecords').status, 201);
  // p2 wakes up late: its record is stored but cannot count.
  const late = chains.extend(p2!, { timeMs: clock + 20, body: { mainRecords: [entry] } });
  relay(p2!, [late]);
  assert.is(report('main', transferTxid, late, 'mainRecords').status, 201);
  settlePast(w + spec.main.recordWindows);
  const done = status('main-status', transferTxid);
  assert.equal([done.status, done.decided], ['final', true]);
  counted = done.counted;
  assert.equal([...counted].sort(), [p1, f1].sort());
  const state = ok(call({ op: 'main-state' }), 'state') as MainStateJson;
  assert.is(state.window, w);
  assert.is(BigInt(ok(call({ op: 'main-account', params: { address: encodeAddr(bob) } }), 'bob').balance), transfer.payload.kind === 'transfer' ? transfer.payload.amount : -1n);
  // The treasury keeps the toll (and the fee shares nobody can be paid in: nothing is locked in p1's or f1's treasury).
  const toll = (transfer.fee * BigInt(spec.main.tollBps)) / 10_000n;
  assert.ok(BigInt(state.treasury.balance) >= toll);
  assert.is(state.treasury.address, toHex(mainTreasuryAddress()));
  assert.is(BigInt(state.supply), BigInt(state.minted) - BigInt(state.burnt));
  // The same answers through the contract's client, which checks every field of them.
  const viaClient = await api.call('main-state');
  assert.ok(viaClient.ok, JSON.stringify(viaClient));
  assert.equal(viaClient.value, state);
  const bobViaClient = await api.call('main-account', { params: { address: encodeAddr(bob) } });
  assert.ok(bobViaClient.ok, JSON.stringify(bobViaClient));
  assert.is(bobViaClient.value.address, toHex(addressOf(bob.publicKey)));
});

test("a node folds the same windows from its own header view and the edge's data, and agrees with the edge's root", async () => {
  const store = openStore(join(home, 'node.db'), { limits: spec.limits });
  const { view, feed } = nodeView();
  feed();
  const mv = new MainView({ spec, networkId: nid, api, view, store: store.main, now: () => clock });
  const events: MainViewEvent[] = [];
  mv.on((e) => events.push(e));
  const folded = await mv.step();
  assert.is(folded.length, 2, JSON.stringify(events));
  const edgeState = ok(call({ op: 'main-state' }), 'state') as MainStateJson;
  const st = mv.status();
  assert.equal([st.root, st.edgeRoot, st.agree, st.mismatches], [edgeState.root, edgeState.root, true, 0]);
  assert.is(mv.account(addressOf(bob.publicKey)).balance.toString(), ok(call({ op: 'main-account', params: { address: encodeAddr(bob) } }), 'bob').balance);
  // Recorded by p1 and the fallback: each recording block's miner is owed its share, whatever the sector could pay.
  const transferWindow = folded[1]!;
  assert.equal(transferWindow.applied.map((a) => a.txid), [transferTxid]);
  assert.ok(transferWindow.releases.every((r) => r.reason === 'fee' && r.to === toHex(MINER) && counted.includes(r.sectorId)));
  // Complete through the last decided window: every release owed so far is known by its seq, and a settlement of it matches.
  assert.ok(mv.completeThrough >= transferWindow.window);
  assert.ok(events.some((e) => e.type === 'main-complete' && e.window === mv.completeThrough));
  // A share is released where the recording sector's treasury holds locked tokens (only the converted sector's does), else kept by the public treasury.
  const locked = new Set(edgeState.pools.filter((p) => BigInt(p.locked) > 0n).map((p) => p.sectorId));
  assert.equal(transferWindow.releases.map((r) => r.sectorId).sort(), counted.filter((s) => locked.has(s)).sort());
  for (const r of folded.flatMap((f) => f.releases)) {
    const known = mv.releases(r.sectorId).release(BigInt(r.seq))!;
    assert.equal([known.id, known.amount.toString(), toHex(known.to)], [r.id, r.amount, r.to]);
    assert.equal(matchSettlements([settlementOf(known)], mv.releases(r.sectorId)), { ok: true, value: 'ok' });
  }
  // Audit: refolded from the chain data, it passes; a tampered row fails it.
  assert.equal((await mv.audit()).ok, true);
  const raw = new Database(join(home, 'node.db'));
  raw.prepare('UPDATE main_windows SET root = ? WHERE window_no = ?').run(Buffer.alloc(32, 9), folded[0]!.window);
  raw.close();
  const audit = await mv.audit();
  assert.equal([audit.ok, audit.problems.map((p) => p.code)], [false, ['root-mismatch']]);
  store.close();
});

test('a lying edge is flagged: a false root is a mismatch event and a status line; hostile window data stores nothing', async () => {
  const store = openStore(join(home, 'liar.db'), { limits: spec.limits });
  const { view, feed } = nodeView();
  feed();
  const lie = (json: any) => ({ ...json, root: json.root && '00'.repeat(32) });
  const liar = new EdgeApi({
    url: 'http://edge.test',
    fetch: async (input, init) => {
      const res = await app.request(input as string, init);
      if (!String(input).includes('/v1/main/windows/')) return res;
      return new Response(JSON.stringify(lie(await res.json())), { status: res.status, headers: { 'content-type': 'application/json' } });
    },
  });
  const mv = new MainView({ spec, networkId: nid, api: liar, view, store: store.main });
  const events: MainViewEvent[] = [];
  mv.on((e) => events.push(e));
  await mv.step();
  assert.is(events.filter((e) => e.type === 'main-root-mismatch').length, 2);
  assert.equal([mv.status().agree, mv.status().mismatches], [false, 2]);
  // Its own root is still the honest one.
  assert.is(mv.status().root, (ok(call({ op: 'main-state' }), 'state') as MainStateJson).root);
  store.close();

  // Another beacon than the one our view recomputes: the draw is ours to check, so nothing is folded.
  const beaconStore = openStore(join(home, 'beacon-liar.db'), { limits: spec.limits });
  const bv = nodeView();
  bv.feed();
  bv.view.advance(clock);
  const honestBeacon = bv.view.beacon(convWindow + 1);
  assert.ok(honestBeacon, 'the view recomputed the beacon that drew the conversion');
  const edgeWindow = ok(call({ op: 'main-window', params: { window: String(convWindow) } }), 'window');
  assert.is(edgeWindow.beacon, toHex(honestBeacon!.beacon), "the honest edge's beacon is the one the node recomputes");
  const beaconLiar = new EdgeApi({
    url: 'http://edge.test',
    fetch: async (input, init) => {
      const res = await app.request(input as string, init);
      if (!String(input).includes('/v1/main/windows/')) return res;
      const body = (await res.json()) as { beacon: string };
      return new Response(JSON.stringify({ ...body, beacon: 'ab'.repeat(32) }), { status: res.status, headers: { 'content-type': 'application/json' } });
    },
  });
  const mb = new MainView({ spec, networkId: nid, api: beaconLiar, view: bv.view, store: beaconStore.main });
  const heard: MainViewEvent[] = [];
  mb.on((e) => heard.push(e));
  assert.equal(await mb.step(), []);
  assert.equal(heard.map((e) => [e.type, (e as { code?: string }).code]), [['main-fetch-failed', 'beacon-mismatch']]);
  assert.equal([beaconStore.main.count(), mb.status().window], [0, -1]);
  beaconStore.close();

  // A view that no longer holds the headers of the windows to fold stops there instead of folding their records as missing.
  const shortStore = openStore(join(home, 'short.db'), { limits: spec.limits });
  const sv = nodeView(16);
  sv.feed();
  const ms = new MainView({ spec, networkId: nid, api, view: sv.view, store: shortStore.main });
  const told: MainViewEvent[] = [];
  ms.on((e) => told.push(e));
  assert.equal(await ms.step(), []);
  assert.equal(told.map((e) => [e.type, (e as { code?: string }).code]), [['main-fetch-failed', 'headers-pruned']]);
  assert.equal([shortStore.main.count(), ms.status().window, ms.completeThrough], [0, -1, -1]);
  shortStore.close();

  // Garbage in a window answer: a coded refusal, nothing folded or stored.
  const junkStore = openStore(join(home, 'junk.db'), { limits: spec.limits });
  const junk = new EdgeApi({
    url: 'http://edge.test',
    fetch: async (input, init) => {
      if (String(input).includes('/v1/main/windows/')) return new Response(JSON.stringify({ window: 'x', main: [1, 2] }), { status: 200, headers: { 'content-type': 'application/json' } });
      return app.request(input as string, init);
    },
  });
  const mj = new MainView({ spec, networkId: nid, api: junk, view, store: junkStore.main });
  const seen: MainViewEvent[] = [];
  mj.on((e) => seen.push(e));
  assert.equal(await mj.step(), []);
  assert.equal(seen.map((e) => [e.type, (e as { code?: string }).code]), [['main-fetch-failed', 'bad-answer']]);
  assert.equal([junkStore.main.count(), mj.status().window], [0, -1]);
  junkStore.close();
});

test('the window endpoints refuse hostile input with coded 4xx answers', async () => {
  for (const [path, code] of [
    ['/v1/main/windows/abc', 'bad-request'],
    ['/v1/main/windows/-5', 'bad-request'],
    ['/v1/main/windows?after=x', 'bad-request'],
    ['/v1/main/windows?limit=100000', 'bad-request'],
    ['/v1/main/accounts/nope', 'bad-address'],
  ] as const) {
    const res = await app.request(`http://edge.test${path}`);
    const body = (await res.json()) as { error?: { code: string } };
    assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
    assert.is(body.error?.code, code, path);
  }
});

test("a recycle lock of an epoch's last block is witnessed and minted to the named account, like a conversion; a lock of an account not named, or proven elsewhere, is refused", () => {
  const origin = 2;
  const named = fromHex(spec.sectors.find((s) => s.id === origin)!.recycle.accounts[0]!);
  const entry = { kind: 'recycle' as const, epoch: 1n, account: named, amount: 2_000n * 100_000_000n };
  const lock: Lock = { kind: 'recycle', sector: origin, entry };
  const lockTxid = toHex(lockId(lock));
  clock = windowEnd(windowOf(clock, G, W), G, W) + 100;
  const block = chains.extend(origin, { timeMs: clock, body: { settlements: [encodeSettlement(entry)] } });
  relay(origin, [block, chains.extend(origin, { timeMs: clock + 1 }), chains.extend(origin, { timeMs: clock + 2 })]);
  const submit = (l: Lock, section: 'settlements' | 'txs' = 'settlements') =>
    call({ op: 'conversion-submit', nodeKey: NODE, body: { tx: toHex(encodeLock(l)), header: toHex(encodeHeader(block.header)), proof: proofJson({ ...bodyInclusionProof(block.body, 'settlements', 0), section }) } });
  const refused = (r: { status: number; body: unknown }) => [r.status, (r.body as { error: { code: string } }).error.code];
  assert.equal(refused(submit({ ...lock, entry: { ...entry, account: addressOf(bob.publicKey) } })), [422, 'not-a-conversion']);
  assert.equal(refused(submit(lock, 'txs')), [422, 'bad-proof-section']);
  assert.equal(refused(submit({ ...lock, sector: 1 })), [422, 'bad-sector']);
  const intake = ok(submit(lock), 'recycle intake');
  assert.is(intake.txid, lockTxid);
  const w = intake.window as number;
  settlePast(w);
  const assigned = status('conversion-status', lockTxid);
  assert.equal(pushedTo('witness-request', lockTxid).sort(), [...assigned.assigned].sort());
  const record = encodeWitnessRecord({ window: w, originSector: origin, originBlock: blockId(block.header), lock, lockProof: bodyInclusionProof(block.body, 'settlements', 0) });
  for (const p of assigned.assigned as number[]) {
    const b = chains.extend(p, { timeMs: clock + 10, body: { witnessRecords: [record] } });
    relay(p, [b]);
    assert.is(report('witness', lockTxid, b, 'witnessRecords').status, 201);
  }
  const before = BigInt(ok(call({ op: 'main-account', params: { address: encodeAddress(named, spec.addressPrefix) } }), 'named').balance);
  settlePast(w + spec.main.recordWindows);
  assert.equal([status('conversion-status', lockTxid).status, status('conversion-status', lockTxid).decided], ['final', true]);
  const after = BigInt(ok(call({ op: 'main-account', params: { address: encodeAddress(named, spec.addressPrefix) } }), 'named').balance);
  assert.ok(after > before, `the named account was minted MAIN: ${before} → ${after}`);
  const pool = (ok(call({ op: 'main-state' }), 'state') as MainStateJson).pools.find((p) => p.sectorId === origin)!;
  assert.is(BigInt(pool.locked), entry.amount);
});

test.run();
