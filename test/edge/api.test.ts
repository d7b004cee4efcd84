// One API suite, run against both runtimes of the edge coordinator — the Node
// server (better-sqlite3, ws) and the Worker in workerd (Durable Objects with
// SQLite storage, hibernating sockets) — then a check that both gave the same
// answers to the same requests. Everything listens on 127.0.0.1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyInclusionProof, emptyBody, type Block } from '../../core/block.js';
import { fromHex, toHex } from '../../core/bytes.js';
import { genesisId, networkId } from '../../core/genesis.js';
import { blockId, encodeHeader, type BlockHeader } from '../../core/header.js';
import { keyPairFromSeed } from '../../core/keys.js';
import { encodeMainRecord, encodeWitnessRecord } from '../../core/record.js';
import { selectSectors } from '../../core/select.js';
import { bitsToTarget, checkProofOfWork, workForTarget } from '../../core/target.js';
import { medianTimePast, windowEnd } from '../../core/time.js';
import { encodeTx, signTx, txId, type Tx } from '../../core/tx.js';
import { checkHeaderWork } from '../../core/validate.js';
import { gemmTaskPayload, type TaskPayload } from '../../core/task.js';
import { blobHash, MAX_BLOB_BYTES } from '../../api/blobs.js';
import { EdgeApi } from '../../api/client.js';
import { proofJson, proofOf } from '../../api/codec.js';
import { authFor } from '../../api/auth.js';
import { EdgeClient, type Answer, type NodeSocket } from './client.js';
import { Chains, mineBlock, startNodeRuntime, startWorkerRuntime, testSpec, type Runtime } from './fixtures.js';

const spec = testSpec(Date.now() - 60_000);
const NID = networkId(spec);
const G = spec.genesisTimeMs;
const W = spec.main.windowMs;
const SECTOR_IDS = spec.sectors.map((s) => s.id);
const WEIGHTS = spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight }));
const nodeKey = keyPairFromSeed(new Uint8Array(32).fill(11));
const otherKey = keyPairFromSeed(new Uint8Array(32).fill(12));
const sender = keyPairFromSeed(new Uint8Array(32).fill(13));
let frameSeq = 0;

// Chains mined once and relayed to both runtimes: everything up to 3 s ago.
const base = new Chains(spec);
for (const id of SECTOR_IDS) base.fillUntil(id, Date.now() - 3000);
/** The last window whose beacon the base chains settle. */
const SETTLED = (() => {
  let w = 0;
  while (w < 1000) {
    try {
      base.beacons(w + 1);
    } catch {
      return w;
    }
    w++;
  }
  return w;
})();

function mainTx(nonce: bigint, chain = 0, amount = 1000n): Tx {
  return signTx(
    { version: 1, chain, from: sender.publicKey, nonce, fee: 10n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(3), amount } },
    sender.secretKey,
    NID,
  );
}

function convertTx(chain: number, nonce: bigint): Tx {
  return signTx(
    { version: 1, chain, from: sender.publicKey, nonce, fee: 10n, payload: { kind: 'convert', amount: 5000n, minMain: 1n, mainTo: new Uint8Array(20).fill(4) } },
    sender.secretKey,
    NID,
  );
}

const hexHeader = (h: BlockHeader) => toHex(encodeHeader(h));

function expectError(a: Answer, status: number, code: string, what = ''): void {
  assert.is(a.status, status, `${what} status (${JSON.stringify(a.body)})`);
  assert.is(a.body?.error?.code, code, `${what} code`);
  assert.type(a.body.error.message, 'string');
}

/** What each runtime answered to requests whose answers do not depend on timing. */
const transcripts = new Map<string, unknown[]>();

interface Ctx {
  rt: Runtime;
  client: EdgeClient;
  chains: Chains;
  sockets: Map<number, NodeSocket>;
  log: unknown[];
  mainTx?: Tx;
  mainWindow?: number;
}

function defineApiSuite(name: string, start: (limits?: Parameters<typeof startNodeRuntime>[1]) => Promise<Runtime>): void {
  const s = suite<Ctx>(`edge API on ${name}`, {} as Ctx);

  s.before(async (ctx) => {
    ctx.rt = await start();
    ctx.client = new EdgeClient(ctx.rt.url, NID, nodeKey);
    ctx.chains = base.clone();
    ctx.sockets = new Map();
    ctx.log = [];
    transcripts.set(name, ctx.log);
  });

  s.after(async (ctx) => {
    for (const sock of ctx.sockets.values()) sock.close();
    await ctx.rt?.close();
  });

  /** POSTs headers of a sector, authenticated, and expects them accepted. */
  const relay = async (ctx: Ctx, sectorId: number, blocks: Block[]) => {
    const path = `/v1/sectors/${sectorId}/headers`;
    const r = await ctx.client.post(path, { headers: blocks.map((b) => hexHeader(b.header)) }, true);
    assert.is(r.status, 200, `relay to ${sectorId}: ${JSON.stringify(r.body)}`);
    return r;
  };

  /** Sends a frame on sector `sectorId`'s socket and waits for the edge's reply to it. */
  const frameReply = async (ctx: Ctx, sectorId: number, frame: Record<string, unknown>): Promise<{ status: number; body: any }> => {
    const id = `f${++frameSeq}`;
    const sock = ctx.sockets.get(sectorId)!;
    sock.send({ ...frame, id });
    return sock.next((m) => m.type === 'reply' && m.id === id);
  };

  /** Waits until sockets have received `type` about `txid`; returns which sectors got it. */
  const pushedTo = async (ctx: Ctx, type: string, txid: string, count: number) => {
    const got = () => SECTOR_IDS.filter((id) => ctx.sockets.get(id)!.all((m) => m.type === type && m.txid === txid).length > 0);
    const t0 = Date.now();
    while (got().length < count) {
      if (Date.now() - t0 > 20_000) throw new Error(`${type} for ${txid} reached ${got().join(',') || 'no sector'}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100)); // anything more would show up now
    return got();
  };

  s('health and the sector list with params and genesis tips', async ({ client, log }) => {
    const h = await client.get('/v1/health');
    assert.equal(h.body, { ok: true, service: 'pouw-edge', network: 'devnet', networkId: toHex(NID) });
    const r = await client.get('/v1/sectors');
    assert.is(r.status, 200);
    assert.is(r.body.networkId, toHex(NID));
    assert.equal(r.body.main, { windowMs: 1000, recordSectors: 2, witnessSectors: 2, mainConfirmations: 3, beaconDepth: 2, recordWindows: spec.main.recordWindows, fallbackWindows: spec.main.fallbackWindows, tollBps: spec.main.tollBps });
    assert.equal(
      r.body.sectors.map((x: any) => [x.id, x.slug, x.genesisId, x.tip.height, x.tip.id, x.powLimitBits]),
      spec.sectors.map((x) => [x.id, x.slug, toHex(genesisId(spec, x)), 0, toHex(genesisId(spec, x)), '207fffff']),
    );
    const tip = await client.get('/v1/sectors/gpu-hi/tip');
    assert.is(tip.body.sectorId, 1);
    assert.is(tip.body.id, toHex(genesisId(spec, spec.sectors[0]!)));
    const { window: _w, ...stable } = r.body;
    log.push(h.body, stable, tip.body);
  });

  s('node auth: bad signatures, replayed, re-bodied and unknown challenges are refused, and nothing is spent by a refusal', async ({ client, chains, log }) => {
    const path = '/v1/sectors/1/headers';
    const body = { headers: [hexHeader(chains.chain(1)[1]!.header)] };
    const codes: string[] = [];
    const refused = async (a: Answer, status: number, code: string) => {
      expectError(a, status, code);
      codes.push(code);
    };
    await refused(await client.post(path, body), 401, 'auth-required');
    // A challenge is issued to a key.
    await refused(await client.request('POST', '/v1/auth/challenge'), 401, 'auth-required');
    const c = await client.challenge();
    assert.match(c, /^[0-9a-f]{64}$/);
    await refused(await client.post(path, body, client.sign('POST', '/v1/sectors/2/headers', c, nodeKey, body)), 401, 'bad-signature');
    const stolen = { ...client.sign('POST', path, c, otherKey, body), 'x-pouw-key': toHex(nodeKey.publicKey) };
    await refused(await client.post(path, body, stolen), 401, 'bad-signature');
    // Another key cannot use it, even with its own valid signature.
    await refused(await client.post(path, body, client.sign('POST', path, c, otherKey, body)), 401, 'challenge-wrong-key');
    // Signed for another edge (a relay that got our node to sign for it), or with a query added.
    const elsewhere = authFor(nodeKey, NID, fromHex(c), { method: 'POST', path, body: JSON.stringify(body), edge: 'other-edge.example' });
    await refused(await client.post(path, body, { 'x-pouw-key': elsewhere.key, 'x-pouw-challenge': elsewhere.challenge, 'x-pouw-sig': elsewhere.sig }), 401, 'bad-signature');
    // A bad signature does not spend the challenge; the first good one does.
    const good = client.sign('POST', path, c, nodeKey, body);
    // The same signed headers with another body: refused, and the challenge still good.
    const other = { headers: [hexHeader(chains.chain(1)[1]!.header), hexHeader(chains.chain(1)[1]!.header)] };
    await refused(await client.post(path, other, good), 401, 'bad-signature');
    await refused(await client.post(`${path}?x=1`, body, good), 401, 'bad-signature');
    assert.is((await client.post(path, body, good)).status, 200);
    await refused(await client.post(path, body, good), 401, 'challenge-used');
    await refused(await client.post(path, body, client.sign('POST', path, 'ab'.repeat(32), nodeKey, body)), 401, 'challenge-unknown');
    await refused(await client.post(path, body, { ...good, 'x-pouw-key': 'zz' }), 400, 'bad-request');
    assert.is((await client.get('/v1/sectors/1/tip')).body.height, 1);
    log.push(codes);
  });

  s('header relay accepts valid headers, moves the tips and knows repeats', async ({ client, chains, log }) => {
    for (const id of SECTOR_IDS) {
      const blocks = chains.chain(id).slice(1);
      const r = await relay({ client } as Ctx, id, blocks);
      assert.equal(
        r.body.accepted.map((a: any) => a.status),
        blocks.map((_b, i) => (id === 1 && i === 0 ? 'known' : 'new')),
      );
      const tip = (await client.get(`/v1/sectors/${id}/tip`)).body;
      const last = chains.tip(id).header;
      assert.is(tip.id, toHex(blockId(last)));
      assert.is(tip.height, last.height);
      let work = 0n;
      for (const b of chains.chain(id)) work += workForTarget((bitsToTarget(b.header.bits) as { value: bigint }).value);
      assert.is(tip.cumulativeWork, work.toString());
      const times = chains.chain(id).map((b) => b.header.timeMs);
      assert.is(tip.mtpMs, medianTimePast(times, spec.limits.medianTimeSpan));
      log.push(tip);
    }
    const again = await relay({ client } as Ctx, 2, [chains.tip(2)]);
    assert.equal(again.body.accepted, [{ id: toHex(blockId(chains.tip(2).header)), height: chains.tip(2).header.height, status: 'known' }]);
    // The best chain can be read back in ranges, for clients that join late.
    const all = chains.chain(3);
    const range = (await client.get('/v1/sectors/3/headers?from=1&count=2')).body;
    assert.is(range.sectorId, 3);
    assert.equal(range.headers.map((h: any) => h.id), all.slice(1, 3).map((b) => toHex(blockId(b.header))));
    assert.equal(range.headers.map((h: any) => h.header), all.slice(1, 3).map((b) => toHex(encodeHeader(b.header))));
    const whole = (await client.get('/v1/sectors/cpu-edge/headers')).body;
    assert.equal(whole.headers.map((h: any) => h.height), all.map((b) => b.header.height));
    assert.equal((await client.get(`/v1/sectors/3/headers?from=${all.length}`)).body.headers, []);
    log.push(range, whole);
  });

  s('header relay refuses bad work, bad bits, unknown parents and bad times with codes, changing nothing', async ({ client, chains, log }) => {
    const sector = chains.sector(2);
    const parent = chains.tip(2).header;
    const tipBefore = (await client.get('/v1/sectors/2/tip')).body;
    const child = mineBlock(spec, sector, parent, emptyBody(new Uint8Array(20)), parent.timeMs + sector.blockTimeMs).header;
    const remine = (h: BlockHeader, bits = h.bits): BlockHeader => {
      if (!bitsToTarget(bits).ok) return { ...h, bits };
      let x = { ...h, bits, nonce: 0n };
      while (!checkProofOfWork(blockId(x), bits, 2n ** 256n - 1n).ok) x = { ...x, nonce: x.nonce + 1n };
      return x;
    };
    let high = { ...child, nonce: child.nonce + 1n };
    while (checkHeaderWork(high, sector).ok) high = { ...high, nonce: high.nonce + 1n };
    const cases: [string, BlockHeader | string, number, string][] = [
      ['high hash', high, 422, 'high-hash'],
      ['bits above the pow limit', { ...child, bits: 0x2100ffff }, 422, 'bad-bits'],
      ['bits that do not decode', { ...child, bits: 0x04923456 }, 422, 'bad-bits'],
      ['bits not ASERT’s', remine(child, 0x1f7fffff), 422, 'bad-diffbits'],
      ['unknown parent', remine({ ...child, prevHash: new Uint8Array(32).fill(9) }), 422, 'unknown-parent'],
      ['time in the future', remine({ ...child, timeMs: Date.now() + 120_000 }), 422, 'time-too-new'],
      ['time before the median', remine({ ...child, timeMs: medianTimePast(chains.chain(2).map((b) => b.header.timeMs), 11) }), 422, 'time-too-old'],
      ['wrong height', remine({ ...child, height: child.height + 1 }), 422, 'bad-height'],
      ['matmul work', remine({ ...child, workKind: 'matmul' }), 422, 'bad-work-proof'],
      ['short hex', hexHeader(child).slice(0, 100), 400, 'bad-request'],
      ['unknown work kind', hexHeader(child).slice(0, 184) + '07000000' + hexHeader(child).slice(192), 400, 'codec-bad-enum'],
    ];
    const codes: string[] = [];
    for (const [what, h, status, code] of cases) {
      const r = await client.post('/v1/sectors/2/headers', { headers: [typeof h === 'string' ? h : hexHeader(h)] }, true);
      expectError(r, status, code, what);
      codes.push(code);
    }
    // A header posted for another sector.
    const wrong = await client.post('/v1/sectors/3/headers', { headers: [hexHeader(child)] }, true);
    expectError(wrong, 422, 'bad-sector');
    // One bad header refuses the whole batch: the good one before it is not stored either.
    const batch = await client.post('/v1/sectors/2/headers', { headers: [hexHeader(child), hexHeader(high)] }, true);
    expectError(batch, 422, 'high-hash');
    assert.match(batch.body.error.message, /headers\[1\]/);
    assert.equal((await client.get('/v1/sectors/2/tip')).body, tipBefore);
    log.push(codes, wrong.body, batch.body);
  });

  s('beacons equal core’s computation from the same headers, with their inputs', async ({ client, chains, log }) => {
    const expected = chains.beacons(SETTLED);
    for (const w of new Set([0, 1, Math.floor(SETTLED / 2), SETTLED])) {
      const r = await client.get(`/v1/beacon/${w}`);
      assert.is(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body, { window: w, ...expected[w], cutoffMs: windowEnd(w - 1, G, W) });
      log.push(r.body);
    }
    // The next window has ended but no chain has a block past its cutoff yet.
    const next = await client.get(`/v1/beacon/${SETTLED + 1}`);
    expectError(next, 409, 'beacon-undetermined');
    expectError(await client.get(`/v1/beacon/${SETTLED + 100_000}`), 404, 'window-not-ended');
    expectError(await client.get('/v1/beacon/abc'), 400, 'bad-request');
    expectError(await client.get('/v1/beacon/-1'), 400, 'bad-request');
  });

  s('sockets: authenticated nodes get relayed headers and relay their own', async (ctx) => {
    const { client, chains } = ctx;
    for (const id of SECTOR_IDS) ctx.sockets.set(id, await client.socket(id));
    // Refused upgrades: bad signature, no auth, unknown sector.
    // Refused upgrades: a signature in the URL (the old way), no ticket, a used one, one for another sector, an unknown sector.
    const a = await client.auth('GET', '/v1/sectors/1/ws');
    assert.is(await client.socketRefusal(1, `key=${a['x-pouw-key']}&challenge=${a['x-pouw-challenge']}&sig=${a['x-pouw-sig']}`), 401);
    assert.is(await client.socketRefusal(1, ''), 401);
    const t = await client.ticket(1);
    const once = await client.socket(1, t);
    assert.is(await client.socketRefusal(1, `ticket=${t}`), 401, 'a ticket seen in a URL after use opens nothing');
    once.close();
    assert.is(await client.socketRefusal(2, `ticket=${await client.ticket(1)}`), 401);
    assert.is(await client.socketRefusal(1, `ticket=${'ab'.repeat(32)}`), 401);
    assert.is(await client.socketRefusal(99, `ticket=${'ab'.repeat(32)}`), 404);
    expectError(await client.get('/v1/sectors/1/ws'), 426, 'upgrade-required');
    // A header posted over HTTP reaches every sector's nodes.
    const h2 = chains.extend(2);
    await relay(ctx, 2, [h2]);
    for (const id of SECTOR_IDS) {
      const m = await ctx.sockets.get(id)!.next((x) => x.type === 'headers' && x.sectorId === 2);
      assert.equal(m.headers, [{ id: toHex(blockId(h2.header)), sectorId: 2, height: h2.header.height, header: hexHeader(h2.header) }]);
    }
    // A node relays on its socket: it gets a reply, the others get the header.
    const h3 = chains.extend(3);
    const s3 = ctx.sockets.get(3)!;
    s3.send({ type: 'headers', id: 7, headers: [hexHeader(h3.header)] });
    const reply = await s3.next((x) => x.type === 'reply' && x.id === 7);
    assert.is(reply.status, 200);
    assert.is(reply.body.accepted[0].status, 'new');
    for (const id of SECTOR_IDS) {
      const pushed = await ctx.sockets.get(id)!.next((x) => x.type === 'headers' && x.sectorId === 3);
      assert.is(pushed.headers[0].id, toHex(blockId(h3.header)));
    }
    s3.send('{nope');
    assert.is((await s3.next((x) => x.type === 'reply' && x.status === 400)).body.error.code, 'bad-json');
    s3.send({ type: 'headers', id: 8, headers: [hexHeader(h3.header).slice(2)] });
    assert.is((await s3.next((x) => x.type === 'reply' && x.id === 8)).body.error.code, 'bad-request');
    s3.send({ type: 'ping', id: 9 });
    assert.equal((await s3.next((x) => x.type === 'reply' && x.id === 9)).body, { type: 'pong' });
  });

  s('MAIN intake: signed txs are taken in once; replays and bad txs change nothing', async (ctx) => {
    const { client, log } = ctx;
    const tx = mainTx(0n);
    const txid = toHex(txId(tx));
    // Start early in a window, so that the next test's relays end before the window does.
    await new Promise((r) => setTimeout(r, W - ((Date.now() - G) % W) + 20));
    const before = Date.now();
    const r = await client.post('/v1/main/tx', { tx: toHex(encodeTx(tx)) });
    assert.is(r.status, 202, JSON.stringify(r.body));
    assert.is(r.body.txid, txid);
    assert.is(r.body.status, 'pending');
    assert.ok(r.body.window >= Math.floor((before - G) / W) && r.body.window <= Math.floor((Date.now() - G) / W));
    const status = (await client.get(`/v1/main/tx/${txid}`)).body;
    assert.is(status.status, 'pending');
    assert.equal([status.assigned, status.beacon, status.records], [[], null, []]);
    // The replay is answered from the stored row (same window, even later).
    const replay = await client.post('/v1/main/tx', { tx: toHex(encodeTx(tx)) });
    assert.is(replay.status, 200);
    assert.equal(replay.body, r.body);
    assert.equal((await client.get(`/v1/main/tx/${txid}`)).body, status);
    const bad = encodeTx(tx);
    bad[bad.length - 1] ^= 1;
    const codes: [number, string][] = [];
    for (const [body, st, code] of [
      [{ tx: toHex(encodeTx(mainTx(1n, 2))) }, 422, 'tx-wrong-chain'],
      [{ tx: toHex(bad) }, 422, 'tx-bad-signature'],
      [{ tx: toHex(encodeTx(tx)).slice(0, 40) }, 400, 'codec-truncated'],
      [{ tx: toHex(encodeTx(tx)).toUpperCase() }, 400, 'bad-request'],
      [{ tx: 5 }, 400, 'bad-request'],
      [{ tx: toHex(encodeTx(convertTx(0, 1n))) }, 422, 'tx-convert-on-main'],
      // Another tx spending the same nonce: refused while the first is pending (or final), so both can never be final.
      [{ tx: toHex(encodeTx(mainTx(0n, 0, 999n))) }, 409, 'nonce-conflict'],
    ] as const) {
      const a = await client.post('/v1/main/tx', body);
      expectError(a, st, code);
      codes.push([a.status, a.body.error.code]);
    }
    expectError(await client.get(`/v1/main/tx/${'0'.repeat(64)}`), 404, 'unknown-tx');
    expectError(await client.get(`/v1/main/tx/${toHex(txId(mainTx(0n, 0, 999n)))}`), 404, 'unknown-tx');
    expectError(await client.get('/v1/main/tx/xyz'), 400, 'bad-request');
    log.push(codes);
    ctx.mainTx = tx;
    ctx.mainWindow = r.body.window;
  });

  s('MAIN assignment: R_{w+1} and core selectSectors, pushed to the primaries only', async (ctx) => {
    const { client, chains } = ctx;
    const tx = ctx.mainTx!;
    const w = ctx.mainWindow!;
    const txid = toHex(txId(tx));
    // Each sector gets blocks timed after window w: once the clock passes it too, R_{w+1} is settled.
    for (const id of SECTOR_IDS) await relay(ctx, id, chains.burstAfter(id, windowEnd(w, G, W)));
    // Window w is still open: only the alarm (Worker) or the timer (Node) at its end can assign now.
    assert.ok(Date.now() <= windowEnd(w, G, W), 'the relays ended inside window w');
    assert.is((await client.get(`/v1/main/tx/${txid}`)).body.status, 'pending');
    const expected = chains.beacons(w + 1)[w + 1]!;
    const sel = selectSectors({ purpose: 'record', beacon: fromHex(expected.beacon), txid: txId(tx), origin: null, sectors: WEIGHTS, count: 2 });
    assert.ok(sel.ok);
    const got = await pushedTo(ctx, 'main-assignment', txid, 2);
    assert.equal(got, [...sel.value.primary].sort((a, b) => a - b));
    const msg = ctx.sockets.get(sel.value.primary[0]!)!.all((m) => m.type === 'main-assignment')[0];
    assert.equal(msg, {
      type: 'main-assignment',
      purpose: 'record',
      txid,
      tx: toHex(encodeTx(tx)),
      window: w,
      beaconWindow: w + 1,
      beacon: expected.beacon,
      selection: { order: sel.value.order, primary: sel.value.primary, fallback: sel.value.fallback },
    });
    const status = (await client.get(`/v1/main/tx/${txid}`)).body;
    assert.is(status.status, 'assigned');
    assert.equal([status.beacon, status.assigned, status.fallback, status.order], [expected.beacon, sel.value.primary, sel.value.fallback, sel.value.order]);
    const beacon = (await client.get(`/v1/beacon/${w + 1}`)).body;
    assert.equal(beacon, { window: w + 1, ...expected, cutoffMs: windowEnd(w, G, W) });
  });

  s('forged inclusion reports are refused with codes and store nothing', async (ctx) => {
    const { client, chains, log } = ctx;
    const tx = ctx.mainTx!;
    const w = ctx.mainWindow!;
    const txid = toHex(txId(tx));
    const before = (await client.get(`/v1/main/tx/${txid}`)).body;
    const p = before.assigned[0] as number;
    const entry = encodeMainRecord({ window: w, tx });
    const rec = chains.extend(p, { body: { mainRecords: [entry] } });
    const path = `/v1/main/tx/${txid}/records`;
    const proof = proofJson(bodyInclusionProof(rec.body, 'mainRecords', 0));
    const report = (over: Record<string, unknown> = {}) => ({ sectorId: p, header: hexHeader(rec.header), proof, ...over });
    const codes: string[] = [];
    const refused = async (body: unknown, status: number, code: string, auth = true) => {
      const a = await client.post(path, body, auth);
      expectError(a, status, code);
      codes.push(code);
    };
    await refused(report(), 422, 'unknown-block'); // not relayed yet
    await relay(ctx, p, [rec]);
    await refused(report(), 401, 'auth-required', false);
    await refused(report({ proof: { ...proof, miner: '11'.repeat(20) } }), 422, 'bad-inclusion-proof');
    await refused(report({ proof: { ...proof, roots: { ...proof.roots, txs: '22'.repeat(32) } } }), 422, 'bad-inclusion-proof');
    await refused(report({ proof: { ...proof, section: 'txs' } }), 422, 'bad-proof-section');
    await refused(report({ proof: { ...proof, path: 'nope' } }), 400, 'bad-proof');
    await refused(report({ sectorId: p === 1 ? 2 : 1 }), 422, 'bad-sector');
    await refused(report({ sectorId: 99 }), 404, 'unknown-sector');
    await refused(report({ header: 'zz' }), 400, 'bad-request');
    // An entry for another window is not this assignment's record.
    const other = chains.extend(p, { body: { mainRecords: [encodeMainRecord({ window: w + 5, tx })] } });
    await relay(ctx, p, [other]);
    const otherProof = proofJson(bodyInclusionProof(other.body, 'mainRecords', 0));
    await refused(report({ header: hexHeader(other.header), proof: otherProof }), 422, 'bad-inclusion-proof');
    expectError(await client.post(`/v1/main/tx/${'0'.repeat(64)}/records`, report(), true), 404, 'unknown-tx');
    assert.equal((await client.get(`/v1/main/tx/${txid}`)).body.records, []);
    log.push(codes);
    (ctx as Ctx & { record?: Block }).record = rec;
  });

  s('verified records make the MAIN tx final after mainConfirmations', async (ctx) => {
    const { client, chains } = ctx;
    const tx = ctx.mainTx!;
    const txid = toHex(txId(tx));
    const path = `/v1/main/tx/${txid}/records`;
    const status0 = (await client.get(`/v1/main/tx/${txid}`)).body;
    const [p, q] = status0.assigned as number[];
    const rec = (ctx as Ctx & { record?: Block }).record!;
    const body = (b: Block, sectorId: number) => ({ sectorId, header: hexHeader(b.header), proof: proofJson(bodyInclusionProof(b.body, 'mainRecords', 0)) });
    const first = await client.post(path, body(rec, p!), true);
    assert.is(first.status, 201, JSON.stringify(first.body));
    assert.is(first.body.status, 'assigned');
    const again = await client.post(path, body(rec, p!), true);
    assert.is(again.status, 200);
    assert.is(again.body.records.length, 1);
    const recQ = chains.extend(q!, { body: { mainRecords: [encodeMainRecord({ window: ctx.mainWindow!, tx })] } });
    await relay(ctx, q!, [recQ]);
    // The second record travels as a frame on the reporting node's authenticated socket: the same
    // checks and answer as the POST, no challenge of its own.
    const forged = { ...body(recQ, q!), proof: { ...body(recQ, q!).proof, miner: '11'.repeat(20) } };
    const refusedFrame = await frameReply(ctx, q!, { type: 'record', kind: 'main', txid, ...forged });
    assert.equal([refusedFrame.status, refusedFrame.body.error.code], [422, 'bad-inclusion-proof']);
    const unknownFrame = await frameReply(ctx, q!, { type: 'record', kind: 'main', txid: '0'.repeat(64), ...body(recQ, q!) });
    assert.equal([unknownFrame.status, unknownFrame.body.error.code], [404, 'unknown-tx']);
    const badKind = await frameReply(ctx, q!, { type: 'record', kind: 'nope', txid, ...body(recQ, q!) });
    assert.equal([badKind.status, badKind.body.error.code], [400, 'bad-request']);
    assert.is((await client.get(`/v1/main/tx/${txid}`)).body.records.length, 1, 'refused frames stored nothing');
    const viaSocket = await frameReply(ctx, q!, { type: 'record', kind: 'main', txid, ...body(recQ, q!) });
    assert.is(viaSocket.status, 201, JSON.stringify(viaSocket.body));
    assert.equal(viaSocket.body.records.length, 2);
    assert.is((await frameReply(ctx, q!, { type: 'record', kind: 'main', txid, ...body(recQ, q!) })).status, 200);
    let status = (await client.get(`/v1/main/tx/${txid}`)).body;
    assert.is(status.final, false);
    for (const id of [p!, q!]) await relay(ctx, id, [chains.extend(id), chains.extend(id)]);
    status = (await client.get(`/v1/main/tx/${txid}`)).body;
    assert.is(status.status, 'final');
    assert.is(status.final, true);
    const byId = new Map(status.records.map((r: any) => [r.blockId, r]));
    assert.is((byId.get(toHex(blockId(recQ.header))) as any).confirmations, 3);
    assert.is((byId.get(toHex(blockId(rec.header))) as any).reportedBy, toHex(nodeKey.publicKey));
  });

  s('conversions become witness requests for two sectors other than the origin', async (ctx) => {
    const { client, chains, log } = ctx;
    const origin = 3;
    const tx = convertTx(origin, 0n);
    const txid = toHex(txId(tx));
    const block = chains.extend(origin, { body: { txs: [tx] } });
    await relay(ctx, origin, [block, chains.extend(origin)]);
    const body = { tx: toHex(encodeTx(tx)), header: hexHeader(block.header), proof: proofJson(bodyInclusionProof(block.body, 'txs', 0)) };
    const codes: string[] = [];
    const refused = async (b: unknown, status: number, code: string) => {
      const a = await client.post('/v1/conversions', b, true);
      expectError(a, status, code);
      codes.push(code);
    };
    await refused(body, 409, 'insufficient-confirmations');
    await refused({ ...body, tx: toHex(encodeTx(mainTx(5n, origin))) }, 422, 'not-a-conversion');
    await refused({ ...body, tx: toHex(encodeTx(convertTx(2, 0n))) }, 422, 'tx-wrong-chain');
    await refused({ ...body, proof: { ...body.proof, index: 0, size: 2 } }, 422, 'bad-inclusion-proof');
    await refused({ ...body, proof: { ...body.proof, section: 'mainRecords' } }, 422, 'bad-proof-section');
    await relay(ctx, origin, [chains.extend(origin)]);
    const r = await client.post('/v1/conversions', body, true);
    assert.is(r.status, 202, JSON.stringify(r.body));
    assert.equal([r.body.txid, r.body.origin, r.body.status], [txid, origin, 'pending']);
    const replay = await client.post('/v1/conversions', body, true);
    assert.is(replay.status, 200);
    assert.equal(replay.body, r.body);
    const w = r.body.window as number;
    for (const id of SECTOR_IDS) await relay(ctx, id, chains.burstAfter(id, windowEnd(w, G, W)));
    const expected = chains.beacons(w + 1)[w + 1]!;
    const sel = selectSectors({ purpose: 'witness', beacon: fromHex(expected.beacon), txid: txId(tx), origin, sectors: WEIGHTS, count: 2 });
    assert.ok(sel.ok);
    assert.not.ok(sel.value.order.includes(origin));
    const got = await pushedTo(ctx, 'witness-request', txid, 2);
    assert.equal(got, [...sel.value.primary].sort((a, b) => a - b));
    const msg = ctx.sockets.get(sel.value.primary[0]!)!.all((m) => m.type === 'witness-request')[0];
    assert.equal(msg.origin, { sectorId: origin, blockId: toHex(blockId(block.header)), height: block.header.height, header: hexHeader(block.header), proof: body.proof });
    assert.equal(msg.selection, { order: sel.value.order, primary: sel.value.primary, fallback: sel.value.fallback });
    const status = (await client.get(`/v1/conversions/${txid}`)).body;
    assert.equal([status.kind, status.status, status.assigned, status.order], ['conversion', 'assigned', sel.value.primary, sel.value.order]);
    assert.is(status.origin.confirmations >= 3, true);
    // The origin cannot witness itself; a drawn witness can.
    const entry = encodeWitnessRecord({ window: w, originSector: origin, originBlock: blockId(block.header), lock: { kind: 'tx', tx }, lockProof: proofOf(body.proof) });
    const own = chains.extend(origin, { body: { witnessRecords: [entry] } });
    await relay(ctx, origin, [own]);
    const path = `/v1/conversions/${txid}/records`;
    const ownReport = { sectorId: origin, header: hexHeader(own.header), proof: proofJson(bodyInclusionProof(own.body, 'witnessRecords', 0)) };
    expectError(await client.post(path, ownReport, true), 422, 'sector-not-assigned');
    const wit = sel.value.primary[0]!;
    const rec = chains.extend(wit, { body: { witnessRecords: [entry] } });
    await relay(ctx, wit, [rec]);
    // The witness record as a socket frame (kind witness: the conversion route's checks).
    const witReport = { sectorId: wit, header: hexHeader(rec.header), proof: proofJson(bodyInclusionProof(rec.body, 'witnessRecords', 0)) };
    const asMain = await frameReply(ctx, wit, { type: 'record', kind: 'main', txid, ...witReport });
    assert.equal([asMain.status, asMain.body.error.code], [404, 'unknown-tx']);
    const ok = await frameReply(ctx, wit, { type: 'record', kind: 'witness', txid, ...witReport });
    assert.is(ok.status, 201, JSON.stringify(ok.body));
    assert.is((await client.post(path, witReport, true)).status, 200, 'the HTTP route sees the frame\'s record');
    assert.equal(
      ok.body.records.map((x: any) => [x.sectorId, x.blockId, x.confirmations]),
      [[wit, toHex(blockId(rec.header)), 1]],
    );
    expectError(await client.get(`/v1/conversions/${'1'.repeat(64)}`), 404, 'unknown-conversion');
    log.push(codes);
  });

  s('blobs and tasks: content-addressed uploads, every bad blob or task input refused with a code, nothing stored by a refusal', async (ctx) => {
    const { client } = ctx;
    const api = new EdgeApi({ url: ctx.rt.url });
    const sector = spec.sectors.find((x) => x.workKinds.includes('matmul'))!;
    const { tileRows: h, tileCols: w, rank } = sector.lottery;
    const [m, k, n] = [2 * h, 2 * rank, 2 * w];
    const A = Int8Array.from({ length: m * k }, (_, i) => ((i * 7) % 129) - 64);
    const B = Int8Array.from({ length: k * n }, (_, i) => ((i * 5) % 129) - 64);
    const bytesOf = (x: Int8Array) => new Uint8Array(x.buffer);
    const put = await api.putBlob(bytesOf(A));
    assert.ok(put.ok && put.status === 201 && put.value.status === 'stored' && put.value.bytes === A.length, JSON.stringify(put));
    const again = await api.putBlob(bytesOf(A));
    assert.ok(again.ok && again.status === 200 && again.value.status === 'known');
    const got = await api.getBlob(put.ok ? put.value.hash : '');
    assert.ok(got.ok && toHex(got.value) === toHex(bytesOf(A)));
    const hashA = blobHash(bytesOf(A));
    // Bad blobs: wrong address, not an address, empty, too large, unknown.
    const raw = (method: string, hash: string, body?: Uint8Array) => client.request(method, `/v1/blobs/${hash}`, { body, headers: { 'content-type': 'application/octet-stream' } });
    expectError(await raw('PUT', blobHash(bytesOf(B)), bytesOf(A)), 422, 'blob-hash-mismatch');
    expectError(await raw('PUT', 'zz', bytesOf(A)), 400, 'bad-blob-hash');
    expectError(await raw('PUT', blobHash(new Uint8Array(0)), new Uint8Array(0)), 400, 'blob-empty');
    const huge = new Uint8Array(MAX_BLOB_BYTES + 1);
    expectError(await raw('PUT', blobHash(huge), huge), 413, 'body-too-large');
    expectError(await raw('GET', blobHash(bytesOf(B))), 404, 'blob-not-found', 'a refused upload stored nothing');
    expectError(await raw('GET', blobHash(huge)), 404, 'blob-not-found');
    // Tasks: inputs must be stored, of the shape, committed to by the tx; the shape must fit the sector.
    const task = (nonce: bigint, over: Partial<TaskPayload> = {}) => {
      const tx = signTx({ version: 1, chain: 0, from: sender.publicKey, nonce, fee: 10n, payload: { ...gemmTaskPayload({ A, B, m, k, n, sector: sector.id, redundancy: 1, escrow: 1000n, deadline: 10 ** 6 }), ...over } }, sender.secretKey, NID);
      return tx;
    };
    const submit = (tx: Tx, inputs: string[]) => client.post('/v1/tasks', { tx: toHex(encodeTx(tx)), inputs });
    expectError(await submit(task(50n), [hashA, blobHash(bytesOf(B))]), 409, 'task-input-missing');
    assert.ok((await api.putBlob(bytesOf(B))).ok);
    const hashB = blobHash(bytesOf(B));
    expectError(await submit(task(50n), [hashB, hashA]), 422, 'task-input-mismatch', 'inputs swapped');
    expectError(await submit(task(50n, { commitA: new Uint8Array(32) }), [hashA, hashB]), 422, 'task-input-mismatch', 'a commitment that is not A');
    expectError(await submit(task(50n, { m: m + 1 }), [hashA, hashB]), 422, 'task-input-mismatch', 'a shape the blobs do not have');
    expectError(await submit(task(50n), [hashA]), 400, 'bad-task', 'one input');
    expectError(await client.post('/v1/main/tx', { tx: toHex(encodeTx(task(50n, { k: 70_000 }))) }), 400, 'bad-task', 'k beyond the lottery');
    expectError(await client.post('/v1/tasks', { tx: toHex(encodeTx(mainTx(50n))), inputs: [hashA] }), 400, 'bad-task', 'a transfer is no task');
    const none = await client.get('/v1/tasks');
    assert.equal(none.body, { tasks: [] }, 'refused tasks are stored nowhere');
    const good = task(50n);
    const ok = await submit(good, [hashA, hashB]);
    assert.is(ok.status, 202, JSON.stringify(ok.body));
    const st = await api.call('task-status', { params: { txid: toHex(txId(good)) } });
    assert.ok(st.ok && st.value.state === 'pending' && st.value.inputs.join() === [hashA, hashB].join() && st.value.schedule === null, JSON.stringify(st));
    const listed = await api.call('task-list', { query: { sector: sector.slug } });
    assert.ok(listed.ok && listed.value.tasks.length === 1 && listed.value.tasks[0]!.dims.join('x') === `${m}x${k}x${n}`);
    expectError(await client.get(`/v1/tasks/${'0'.repeat(64)}`), 404, 'unknown-task');
    expectError(await client.get('/v1/tasks?state=nope'), 400, 'bad-request');
  });

  s('hostile requests get 4xx with codes, never 500, and change nothing', async ({ client, log }) => {
    const snapshot = async () => {
      const { window: _w, ...sectors } = (await client.get('/v1/sectors')).body;
      return sectors;
    };
    const before = await snapshot();
    const answers: [string, number, string][] = [];
    const check = async (what: string, a: Promise<Answer>, status: number, code: string) => {
      const r = await a;
      expectError(r, status, code, what);
      answers.push([what, r.status, r.body.error.code]);
    };
    const big = JSON.stringify({ tx: 'ab'.repeat(600_000) });
    const chunked = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < 40; i++) ctl.enqueue(new Uint8Array(32 * 1024).fill(0x20));
        ctl.close();
      },
    });
    await check('bad json', client.post('/v1/main/tx', '{"tx": '), 400, 'bad-json');
    await check('not utf-8', client.request('POST', '/v1/main/tx', { body: Uint8Array.of(0x22, 0xff, 0x22) }), 400, 'bad-json');
    await check('array body', client.post('/v1/main/tx', []), 400, 'bad-request');
    await check('string body', client.post('/v1/main/tx', '"hi"'), 400, 'bad-request');
    await check('huge body', client.post('/v1/main/tx', big), 413, 'body-too-large');
    await check('huge body without length', client.request('POST', '/v1/main/tx', { body: chunked }), 413, 'body-too-large');
    await check('huge header batch', client.post('/v1/sectors/1/headers', JSON.stringify({ headers: ['00'.repeat(104)] }) + ' '.repeat(2_200_000), true), 413, 'body-too-large');
    await check('unknown sector tip', client.get('/v1/sectors/99/tip'), 404, 'unknown-sector');
    await check('header range of an unknown sector', client.get('/v1/sectors/99/headers'), 404, 'unknown-sector');
    await check('header range, bad from', client.get('/v1/sectors/1/headers?from=-1'), 400, 'bad-request');
    await check('header range, count too large', client.get('/v1/sectors/1/headers?count=999999'), 400, 'bad-request');
    await check('unknown sector slug', client.get('/v1/sectors/nope/tip'), 404, 'unknown-sector');
    await check('unknown sector relay', client.post('/v1/sectors/nope/headers', { headers: ['00'] }, true), 404, 'unknown-sector');
    await check('headers not a list', client.post('/v1/sectors/1/headers', { headers: 'ab' }, true), 400, 'bad-request');
    await check('empty header list', client.post('/v1/sectors/1/headers', { headers: [] }, true), 400, 'bad-request');
    await check('unknown route', client.get('/v1/nothing'), 404, 'not-found');
    await check('wrong method', client.request('DELETE', '/v1/main/tx'), 404, 'not-found');
    await check('conversion without fields', client.post('/v1/conversions', {}, true), 400, 'bad-request');
    await check('record for a bad txid', client.post('/v1/main/tx/nothex/records', {}, true), 400, 'bad-request');
    assert.equal(await snapshot(), before);
    log.push(answers.map(([w, st, c]) => `${w}: ${st} ${c}`));
  });

  s('header spam: a branch far below the best is refused, side branches are capped per key, only the best chain is fanned out', async () => {
    const rt = await start({ forkMarginBlocks: 2, maxSideHeaders: 50, maxSideHeadersPerKey: 3 });
    try {
      const client = new EdgeClient(rt.url, NID, nodeKey);
      const chains = new Chains(spec);
      const sector = chains.sector(3);
      const t0 = Date.now() - 60_000;
      const main = Array.from({ length: 8 }, (_, i) => chains.extend(3, { timeMs: t0 + i * 1000 }));
      const path = '/v1/sectors/3/headers';
      const post = (blocks: Block[]) => client.post(path, { headers: blocks.map((b) => hexHeader(b.header)) }, true);
      assert.is((await post(main)).status, 200);
      const sock = await client.socket(3);
      // A one-block branch off genesis: eight blocks of work below the tip, the margin is two.
      const g = chains.chain(3)[0]!.header;
      const low = mineBlock(spec, sector, g, { ...emptyBody(new Uint8Array(20).fill(9)) }, t0 + 500);
      expectError(await post([low]), 422, 'low-work-branch');
      assert.is((await client.get('/v1/sectors/3/headers?from=1&count=1')).body.headers[0].id, toHex(blockId(main[0]!.header)));
      // Side blocks at the tip's height (within the margin) are kept, three per key, and never fanned out.
      const parent = main[main.length - 2]!.header;
      const side = (i: number) => mineBlock(spec, sector, parent, { ...emptyBody(new Uint8Array(20).fill(10 + i)) }, parent.timeMs + 1 + i);
      for (let i = 0; i < 3; i++) assert.is((await post([side(i)])).status, 200, `side ${i}`);
      expectError(await post([side(3)]), 429, 'side-branch-full');
      // Another key still may (the cap is per key), and a header that extends the best chain is always taken and fanned out.
      const other = new EdgeClient(rt.url, NID, otherKey);
      assert.is((await other.post(path, { headers: [hexHeader(side(4).header)] }, true)).status, 200);
      const next = chains.extend(3, { timeMs: t0 + 9000 });
      assert.is((await post([next])).status, 200);
      const pushed = await sock.next((m) => m.type === 'headers' && m.sectorId === 3);
      assert.equal(pushed.headers.map((h: any) => h.id), [toHex(blockId(next.header))], 'only the header on the best chain was pushed');
      // A reorg onto the first side block: its whole branch is pushed, the side block stored earlier included.
      const s0 = side(0);
      const c1 = mineBlock(spec, sector, s0.header, { ...emptyBody(new Uint8Array(20).fill(20)) }, s0.header.timeMs + 1);
      const c2 = mineBlock(spec, sector, c1.header, { ...emptyBody(new Uint8Array(20).fill(21)) }, c1.header.timeMs + 1);
      assert.is((await post([c1, c2])).status, 200);
      const reorg = await sock.next((m) => m.type === 'headers' && m.sectorId === 3);
      assert.equal(reorg.headers.map((h: any) => h.id), [s0, c1, c2].map((b) => toHex(blockId(b.header))));
      sock.close();
    } finally {
      await rt.close();
    }
  });

  s('every socket frame counts against the address, pings and garbage included; sockets per address are capped', async () => {
    const rt = await start({ ip: { burst: 40, perMinute: 1 }, maxSocketsPerIp: 2 });
    try {
      const client = new EdgeClient(rt.url, NID, nodeKey);
      const a = await client.socket(1);
      const b = await new EdgeClient(rt.url, NID, otherKey).socket(1);
      // A third socket of the sector from this address is refused, whatever its key (on Node the cap spans every sector).
      const t = await new EdgeClient(rt.url, NID, otherKey).ticket(1);
      assert.is(await client.socketRefusal(1, `ticket=${t}`), 429);
      // Pings and garbage spend the address's tokens until they are refused like any request;
      // the socket that ran over is then closed (4029), not answered frame by frame. One key's
      // socket gets at most half its address's budget, so it cannot starve the other key there.
      for (let i = 0; i < 40; i++) a.send(i % 2 === 0 ? { type: 'ping', id: i } : 'garbage');
      const limited = await a.next((m) => m.type === 'reply' && m.status === 429);
      assert.is(limited.body.error.code, 'rate-limited');
      assert.is(await a.closed, 4029);
      assert.is(a.all((m) => m.type === 'reply' && m.status !== 429).length, 20, "the flooding key had its half of the address's 40");
      // The other key on the address is still served, from what is left of the address's budget.
      // On Node protocol-level pings count too (on Workers the runtime answers them unseen).
      if (name === 'node') for (let i = 0; i < 5; i++) b.ws.ping();
      for (let i = 0; i < 20; i++) b.send({ type: 'ping', id: 100 + i });
      await b.next((m) => m.type === 'reply' && m.status === 429);
      const served = b.all((m) => m.type === 'reply' && m.status === 200).length;
      // 40 − 9 spent opening the sockets and refusing the third − 20 of the flooding key = 11, 5 fewer after 5 pings.
      assert.is(served, name === 'node' ? 6 : 11, 'the other key was served from the rest of the address');
      expectError(await client.get('/v1/health'), 429, 'rate-limited');
      b.close();
    } finally {
      await rt.close();
    }
  });

  s('rate limits per address and per key, and challenge expiry', async ({ log }) => {
    const tight = await start({ ip: { burst: 9, perMinute: 1 }, key: { burst: 1, perMinute: 1 }, challengeTtlMs: 500 });
    try {
      const client = new EdgeClient(tight.url, NID, nodeKey);
      const path = '/v1/sectors/1/headers';
      const body = { headers: [hexHeader(base.chain(1)[1]!.header)] };
      const a = await client.challenge();
      const b = await client.challenge();
      assert.is((await client.post(path, body, client.sign('POST', path, a, nodeKey, body))).status, 200);
      // The key's bucket is empty: refused, and the challenge is not spent.
      const limited = await client.post(path, body, client.sign('POST', path, b, nodeKey, body));
      expectError(limited, 429, 'rate-limited');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      await new Promise((r) => setTimeout(r, 700));
      expectError(await client.post(path, body, client.sign('POST', path, b, nodeKey, body)), 401, 'challenge-expired');
      for (let i = 0; i < 4; i++) assert.is((await client.get('/v1/health')).status, 200);
      const ip = await client.get('/v1/health');
      expectError(ip, 429, 'rate-limited');
      assert.ok(Number(ip.headers.get('retry-after')) >= 1);
      log.push([limited.body.error.code, ip.body.error.code]);
    } finally {
      await tight.close();
    }
  });

  s.run();
}

defineApiSuite('node', (limits) => startNodeRuntime(spec, limits));
defineApiSuite('worker', (limits) => startWorkerRuntime(spec, limits));

const both = suite('edge runtimes agree');
both('the Node server and the Worker gave the same answers', () => {
  const node = transcripts.get('node');
  const worker = transcripts.get('worker');
  assert.ok(node && worker && node.length > 10, 'both suites ran');
  assert.equal(worker, node);
});
both.run();
