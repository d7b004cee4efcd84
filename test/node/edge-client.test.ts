// The edge client in-process on 127.0.0.1: the edge on Node and one sector
// node per sector, each with its client. Blocks the nodes connect reach the
// edge; the beacons the clients recompute from the relayed headers equal the
// edge's (and core's over the same chains); a MAIN tx is assigned and the
// drawn sectors' clients take it; a lying edge is caught (made-up beacon,
// made-up selection, another sector's assignment, a header without work);
// clients that join late check what their view allows; a restarted edge gets
// the headers mined while it was down; stop is final.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../core/bytes.js';
import { networkId } from '../../core/genesis.js';
import { blockId, encodeHeader } from '../../core/header.js';
import { keyPairFromSeed } from '../../core/keys.js';
import { selectSectors } from '../../core/select.js';
import { windowEnd } from '../../core/time.js';
import { decodeTx, encodeTx, signTx } from '../../core/tx.js';
import { blockWindowOf, encodeMainRecord } from '../../core/record.js';
import { checkHeaderWork } from '../../core/validate.js';
import type { MainAssignment } from '../../api/frames.js';
import { startEdge, type EdgeServer } from '../../edge/node-server.js';
import { EdgeClient, type EdgeClientEvent } from '../../node/edge-client.js';
import { SectorNode } from '../../node/sector-node.js';
import { Chains, testSpec } from '../edge/fixtures.js';
import { until } from '../wait.js';

// Genesis ten minutes back: more windows than one beacon step (256) covers, as a client that joins a running network sees.
const spec = testSpec(Date.now() - 600_000);
const NID = networkId(spec);
const IDS = spec.sectors.map((s) => s.id);
const sender = keyPairFromSeed(new Uint8Array(32).fill(41));

interface Member {
  sectorId: number;
  node: SectorNode;
  client: EdgeClient;
  events: EdgeClientEvent[];
}

let dir = '';
let edge: EdgeServer;
let members: Member[] = [];
/** Clients started after the chains had grown. */
let late: Member[] = [];
const chains = new Chains(spec);

async function get(path: string): Promise<any> {
  const r = await fetch(edge.url + path, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.json() };
}

/** Mines blocks with the fixture and hands them to the sector's node, as its miner would. */
function feed(sectorId: number, blocks: ReturnType<Chains['extend']>[]): void {
  const m = members.find((x) => x.sectorId === sectorId)!;
  for (const b of blocks) assert.ok(m.node.submitBlock(b), `block ${b.header.height} of sector ${sectorId} taken`);
}

async function edgeTipsMatchNodes(): Promise<boolean> {
  const tips = await Promise.all(IDS.map((id) => get(`/v1/sectors/${id}/tip`)));
  return tips.every((t, i) => t.body.id === toHex(members[i]!.node.chain.tip().id));
}

function eventsOf<T extends EdgeClientEvent['type']>(m: Member, type: T): Extract<EdgeClientEvent, { type: T }>[] {
  return m.events.filter((e): e is Extract<EdgeClientEvent, { type: T }> => e.type === type);
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pouw-edge-client-'));
  edge = await startEdge({ port: 0, host: '127.0.0.1', dbPath: join(dir, 'edge.db'), spec });
  for (const s of spec.sectors) {
    const node = new SectorNode({ spec, sector: s, dbPath: ':memory:', verifyThreads: 0 });
    await node.start();
    const client = new EdgeClient({ url: edge.url, node, key: keyPairFromSeed(new Uint8Array(32).fill(s.id)), retryMinMs: 50, retryMaxMs: 300, relayDelayMs: 20 });
    const m: Member = { sectorId: s.id, node, client, events: [] };
    client.on((e) => m.events.push(e));
    client.start();
    members.push(m);
  }
  await until(() => members.every((m) => m.client.state === 'open'), 10_000);
});

test.after(async () => {
  for (const m of late) await m.client.stop();
  for (const m of members) {
    await m.client.stop();
    await m.node.stop();
  }
  await edge?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the headers a node connects reach the edge, and every client follows every sector', async () => {
  const now = Date.now();
  for (const id of IDS) feed(id, [...chains.fillUntil(id, now - 2000), ...chains.burstAfter(id, now - 1500)]);
  await until(edgeTipsMatchNodes, 10_000);
  for (const m of members) {
    const relayed = eventsOf(m, 'edge-relayed');
    assert.ok(relayed.length > 0, `sector ${m.sectorId} relayed`);
    assert.is(relayed[relayed.length - 1]!.height, chains.tip(m.sectorId).header.height);
  }
  // Each client's view holds every sector's best chain, genesis included (it connected before any block).
  await until(() => members.every((m) => IDS.every((id) => m.client.view.sector(id)!.tip().key === toHex(blockId(chains.tip(id).header)))), 10_000);
  for (const m of members) for (const id of IDS) assert.is(m.client.view.sector(id)!.base().header.height, 0);
  for (const m of members) assert.equal(eventsOf(m, 'edge-header-refused'), []);
});

test('the beacons a client recomputes equal the edge’s and core’s over the same chains', async () => {
  let settled = 0;
  while (settled < 100) {
    try {
      chains.beacons(settled + 1);
      settled++;
    } catch {
      break;
    }
  }
  assert.ok(settled >= 10, `the chains settle R_0..R_${settled}`);
  const core = chains.beacons(settled);
  await until(() => members.every((m) => m.client.view.beacon(settled) !== undefined), 10_000);
  for (let w = 0; w <= settled; w++) {
    const published = await get(`/v1/beacon/${w}`);
    assert.is(published.status, 200, JSON.stringify(published.body));
    assert.is(published.body.beacon, core[w]!.beacon, `R_${w} edge = core`);
    for (const m of members) {
      const b = m.client.view.beacon(w)!;
      assert.is(toHex(b.beacon), published.body.beacon, `R_${w} of sector ${m.sectorId}'s client`);
      assert.ok(b.fromGenesis);
    }
  }
  const beacons = eventsOf(members[0]!, 'edge-beacon');
  assert.equal(beacons.slice(0, settled + 1).map((b) => [b.window, b.check]), core.map((_b, w) => [w, 'full']));
});

/** Submits a MAIN tx and mines until its beacon settles; resolves with the edge's status once assigned. */
async function assignOne(nonce: bigint): Promise<any> {
  const tx = signTx(
    { version: 1, chain: 0, from: sender.publicKey, nonce, fee: 10n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(3), amount: 1000n } },
    sender.secretKey,
    NID,
  );
  const r = await fetch(`${edge.url}/v1/main/tx`, { method: 'POST', body: JSON.stringify({ tx: toHex(encodeTx(tx)) }), headers: { 'content-type': 'application/json' } });
  assert.is(r.status, 202);
  const { txid, window } = (await r.json()) as { txid: string; window: number };
  const end = windowEnd(window, spec.genesisTimeMs, spec.main.windowMs);
  await until(() => Date.now() > end + 20, 5_000);
  for (const id of IDS) feed(id, chains.burstAfter(id, end));
  await until(async () => (await get(`/v1/main/tx/${txid}`)).body.status === 'assigned', 10_000);
  return (await get(`/v1/main/tx/${txid}`)).body;
}

let assigned: MainAssignment;

test('a MAIN tx is assigned with R_{w+1}; the drawn sectors’ clients recompute the draw and take it', async () => {
  const status = await assignOne(0n);
  const { txid, window } = status as { txid: string; window: number };
  const primaries = status.assigned as number[];
  assert.is(primaries.length, spec.main.recordSectors);
  await until(() => members.filter((m) => primaries.includes(m.sectorId)).every((m) => m.client.accepted.some((a) => a.txid === txid)), 10_000);
  for (const m of members) {
    const got = eventsOf(m, 'assignment-accepted').filter((a) => a.txid === txid);
    if (!primaries.includes(m.sectorId)) {
      assert.is(got.length, 0, `sector ${m.sectorId} was not sent the assignment`);
      continue;
    }
    assert.is(got.length, 1);
    assert.equal(
      { window: got[0]!.window, beaconWindow: got[0]!.beaconWindow, beacon: got[0]!.beacon, primary: got[0]!.primary, check: got[0]!.beaconCheck },
      { window, beaconWindow: window + 1, beacon: status.beacon, primary: primaries, check: 'full' },
    );
    assert.is(eventsOf(m, 'assignment-rejected').length, 0);
  }
  assigned = {
    type: 'main-assignment',
    purpose: 'record',
    txid,
    tx: status.tx,
    window,
    beaconWindow: window + 1,
    beacon: status.beacon,
    selection: { order: status.order, primary: status.assigned, fallback: status.fallback },
  };
});

/** The MAIN record entry of the assignment taken above. */
const recordOf = (a: MainAssignment) => encodeMainRecord({ window: a.window, tx: decodeTx(fromHex(a.tx)) });

test('a drawn sector’s node keeps the taken tx for its miner; a block recording it is reported and verified by the edge', async () => {
  const p = members.find((m) => m.sectorId === assigned.selection.primary[0])!;
  const entry = recordOf(assigned);
  // The record pool holds it for any block after its window.
  assert.equal(p.node.records.forBlock(assigned.window + 1).mainRecords, [entry]);
  assert.equal(p.node.records.forBlock(assigned.window).mainRecords, []);
  // The report travels as a frame on the node's authenticated socket: no HTTP request, no challenge.
  const requested: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    requested.push(String(input));
    return realFetch(input, init);
  };
  try {
    feed(p.sectorId, [chains.extend(p.sectorId, { body: { mainRecords: [entry] } })]);
    await until(() => eventsOf(p, 'record-reported').some((e) => e.txid === assigned.txid), 10_000);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(eventsOf(p, 'record-reported').map((e) => [e.txid, e.status]), [[assigned.txid, 201]]);
  assert.equal(requested.filter((u) => u.includes('/records') || u.includes('/auth/challenge')), []);
  const status = (await get(`/v1/main/tx/${assigned.txid}`)).body;
  assert.equal(status.records.map((r: any) => [r.sectorId, r.blockId]), [[p.sectorId, toHex(p.node.chain.tip().id)]]);
  // Carried by the best chain: no longer offered to templates.
  assert.equal(p.node.records.forBlock(assigned.window + 1).mainRecords, []);
});

/** Hands `msg` to the client of `sectorId` as if the edge had pushed it; returns the verdict. */
async function verdict(sectorId: number, msg: MainAssignment): Promise<EdgeClientEvent | undefined> {
  const m = members.find((x) => x.sectorId === sectorId)!;
  const before = m.events.length;
  m.client.onMessage(msg);
  await m.client.settled();
  return m.events.slice(before).find((e) => e.type === 'assignment-accepted' || e.type === 'assignment-rejected');
}

test('a lying edge is caught: made-up beacon, made-up selection, someone else’s assignment', async () => {
  const primaries = assigned.selection.primary;
  const outsider = IDS.find((id) => !primaries.includes(id))!;
  const rejected = (e: EdgeClientEvent | undefined) => (e?.type === 'assignment-rejected' ? e.code : e?.type);

  // An honest assignment sent to a sector that was not drawn.
  assert.is(rejected(await verdict(outsider, assigned)), 'assignment-not-ours');

  // A beacon ground to pick the outsider, with the selection that beacon would give.
  let forged: MainAssignment | undefined;
  for (let i = 0; i < 256 && !forged; i++) {
    const beacon = new Uint8Array(32).fill(i);
    const sel = selectSectors({ purpose: 'record', beacon, txid: fromHex(assigned.txid), origin: null, sectors: spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight })), count: 2 });
    if (sel.ok && sel.value.primary.includes(outsider)) forged = { ...assigned, beacon: toHex(beacon), selection: sel.value };
  }
  assert.ok(forged);
  assert.is(rejected(await verdict(outsider, forged!)), 'assignment-beacon-mismatch');

  // The true beacon with an order it does not give.
  const order = [...assigned.selection.order].reverse();
  const reordered = { ...assigned, selection: { order, primary: order.slice(0, 2), fallback: order.slice(2) } };
  assert.is(rejected(await verdict(reordered.selection.primary[0]!, reordered)), 'assignment-selection-mismatch');

  // A beacon window that is not window + 1.
  assert.is(rejected(await verdict(primaries[0]!, { ...assigned, txid: toHex(new Uint8Array(32)), beaconWindow: assigned.window + 2 })), 'assignment-malformed');
  assert.is(rejected(await verdict(primaries[0]!, { ...assigned, beaconWindow: assigned.window + 2 })), 'assignment-wrong-window');

  // The same true assignment, fresh to the client of a primary that has not seen it: taken.
  const primary = members.find((m) => m.sectorId === primaries[0])!;
  primary.client.accepted.length = 0;
  const again = await verdict(primaries[0]!, assigned);
  assert.is(again?.type, 'assignment-accepted');
  assert.is(primary.client.accepted.length, 1);
});

test('clients that join late read the missing headers from the edge and check beacons all the way', async () => {
  const fresh: Member[] = [];
  for (const m of members) {
    const client = new EdgeClient({ url: edge.url, node: m.node, key: keyPairFromSeed(new Uint8Array(32).fill(120 + m.sectorId)), retryMinMs: 50, retryMaxMs: 300 });
    const l: Member = { sectorId: m.sectorId, node: m.node, client, events: [] };
    client.on((e) => l.events.push(e));
    client.start();
    fresh.push(l);
  }
  try {
    const tips = (await (await fetch(`${edge.url}/v1/sectors`)).json()) as { sectors: { id: number; tip: { id: string } }[] };
    await until(() => fresh.every((l) => l.client.state === 'open' && tips.sectors.every((s) => toHex(l.client.view.sector(s.id)!.tip().id) === s.tip.id)), 10_000);
    for (const l of fresh) for (const id of IDS) assert.is(l.client.view.sector(id)!.base().header.height, 0, 'the view reaches back to genesis');
    const p = fresh.find((l) => l.sectorId === assigned.selection.primary[0])!;
    p.client.onMessage(assigned);
    await p.client.settled();
    assert.equal(p.client.accepted.map((a) => [a.txid, a.beaconCheck]), [[assigned.txid, 'full']]);
  } finally {
    for (const l of fresh) await l.client.stop();
  }
});

test('clients that join late without backfill: unverified before their view begins, this window’s anchors once it covers them', async () => {
  for (const m of members) {
    const client = new EdgeClient({ url: edge.url, node: m.node, key: keyPairFromSeed(new Uint8Array(32).fill(100 + m.sectorId)), retryMinMs: 50, retryMaxMs: 300, backfillMax: 0 });
    const l: Member = { sectorId: m.sectorId, node: m.node, client, events: [] };
    client.on((e) => l.events.push(e));
    client.start();
    late.push(l);
  }
  await until(() => late.every((l) => l.client.state === 'open' && IDS.every((id) => l.client.view.sector(id)!.base().header.height > 0)), 10_000);
  // The earlier assignment's anchors lie below what a late view holds: the draw is checked, the beacon cannot be.
  const p = late.find((l) => l.sectorId === assigned.selection.primary[0])!;
  p.client.onMessage(assigned);
  await p.client.settled();
  // Held apart, never acted on: not among the taken, not in the record pool.
  assert.equal(p.client.accepted, []);
  assert.equal(p.client.unverified.map((a) => [a.txid, a.beaconCheck]), [[assigned.txid, 'unverified']]);
  assert.equal(p.node.records.forBlock(assigned.window + 1).mainRecords, []);

  // Blocks after joining give the late views medians; a new tx's beacon is then checked on the edge's R_{w−1}.
  for (const id of IDS) feed(id, chains.burstAfter(id, Date.now(), 14));
  await new Promise((r) => setTimeout(r, 50));
  const status = await assignOne(1n);
  const takers = late.filter((l) => status.assigned.includes(l.sectorId));
  await until(() => takers.every((l) => l.client.accepted.some((a) => a.txid === status.txid)), 10_000);
  for (const l of takers) {
    assert.is(l.client.accepted.find((a) => a.txid === status.txid)!.beaconCheck, 'anchors');
    assert.equal(eventsOf(l, 'assignment-rejected'), []);
  }
  // The clients there from the start checked the same beacon all the way from R_{−1}.
  for (const m of members.filter((x) => status.assigned.includes(x.sectorId))) {
    await until(() => m.client.accepted.some((a) => a.txid === status.txid), 10_000);
    assert.is(m.client.accepted.find((a) => a.txid === status.txid)!.beaconCheck, 'full');
  }
});

test('assignments for a future window, or one too old to record, are refused and not held', async () => {
  const m = members.find((x) => x.sectorId === assigned.selection.primary[0])!;
  const before = m.client.accepted.length;
  const now = blockWindowOf(spec, Date.now());
  m.client.onMessage({ ...assigned, window: now + 5, beaconWindow: now + 6 });
  await m.client.settled();
  assert.equal(eventsOf(m, 'assignment-rejected').slice(-1).map((e) => e.code), ['assignment-future-window']);
  assert.is(m.client.accepted.length, before);
  assert.equal(m.client.unverified, []);
  // A client whose clock is past the last window the assignment could be recorded in.
  const later = Date.now() + (spec.main.recordWindows + 5) * spec.main.windowMs;
  const old = new EdgeClient({ url: edge.url, node: m.node, key: keyPairFromSeed(new Uint8Array(32).fill(77)), now: () => later });
  const seen: EdgeClientEvent[] = [];
  old.on((e) => seen.push(e));
  old.onMessage(assigned);
  await old.settled();
  assert.equal(seen.filter((e) => e.type === 'assignment-rejected').map((e) => (e as { code: string }).code), ['assignment-expired']);
  assert.equal(old.accepted, []);
  assert.equal(old.unverified, []);
});

test('a relayed header without its work is refused and changes nothing', async () => {
  const m = members[1]!;
  let h = { ...chains.tip(3).header, nonce: 0n };
  while (checkHeaderWork(h, spec.sectors[2]!).ok) h = { ...h, nonce: h.nonce + 1n };
  const tip = m.client.view.sector(3)!.tip().key;
  m.client.onMessage({ type: 'headers', sectorId: 3, headers: [{ id: toHex(blockId(h)), sectorId: 3, height: h.height, header: toHex(encodeHeader(h)) }] });
  const refused = eventsOf(m, 'edge-header-refused');
  assert.is(refused[refused.length - 1]?.code, 'high-hash');
  assert.is(m.client.view.sector(3)!.tip().key, tip);
});

test('clients reconnect to a restarted edge, which then gets the headers mined while it was down', async () => {
  const port = edge.port;
  await edge.close();
  await until(() => members.every((m) => m.client.state !== 'open'), 5_000);
  const now = Date.now();
  feed(1, chains.burstAfter(1, now, 3));
  // The other drawn sector records the MAIN tx while the edge is down.
  const second = assigned.selection.primary[1]!;
  feed(second, [chains.extend(second, { body: { mainRecords: [recordOf(assigned)] } })]);
  edge = await startEdge({ port, host: '127.0.0.1', dbPath: join(dir, 'edge.db'), spec });
  await until(() => members.every((m) => m.client.state === 'open'), 10_000);
  await until(edgeTipsMatchNodes, 10_000);
  // The reconnect reported it: the edge holds both drawn sectors' records.
  await until(async () => (await get(`/v1/main/tx/${assigned.txid}`)).body.records.length === 2, 10_000);
  for (const m of members) {
    const closed = eventsOf(m, 'edge-connection').filter((e) => e.state === 'closed');
    assert.ok(closed.some((e) => typeof e.retryInMs === 'number' && e.retryInMs <= 300), 'retried with backoff');
  }
  // The sockets' pushes resume: every client follows the new blocks.
  await until(() => members.every((m) => m.client.view.sector(1)!.tip().key === toHex(blockId(chains.tip(1).header))), 10_000);
});

test('stop is final: the socket closes and no reconnect follows', async () => {
  const m = members[0]!;
  await m.client.stop();
  assert.is(m.client.state, 'closed');
  const after = m.events.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.is(m.events.slice(after).filter((e) => e.type === 'edge-connection').length, 0);
});

test.run();
