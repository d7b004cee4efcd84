// The edge's pure parts: token buckets, error statuses, body reading limits,
// spec and limits configuration text, and the node auth message; and the
// coordinator's walk over pending windows, on an in-memory database.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../core/bytes.js';
import { PouwError } from '../../core/errors.js';
import { networkId } from '../../core/genesis.js';
import { keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec } from '../../core/params.js';
import { encodeTx, signTx } from '../../core/tx.js';
import { readBodyText } from '../../api/http.js';
import { limitsFromJson, specFromEnv, specFromJson, specToJson } from '../../edge/config.js';
import { Coordinator, DEFAULT_EDGE_LIMITS } from '../../edge/coordinator.js';
import { statusOf } from '../../edge/errors.js';
import { proofJson, proofOf } from '../../api/codec.js';
import { Chains, testSpec } from './fixtures.js';
import { bodyInclusionProof, SECTIONS } from '../../core/block.js';
import { encodeHeader, type BlockHeader } from '../../core/header.js';
import { encodeMainRecord } from '../../core/record.js';
import { windowEnd, windowOf, windowStart } from '../../core/time.js';
import { RateLimiter, refillBucket, shareOf, takeToken } from '../../edge/rate.js';
import { betterSqlite } from '../../edge/sql.js';

test('token buckets start full, refill per minute and say when to retry', () => {
  const limit = { burst: 2, perMinute: 60 };
  let b = takeToken(undefined, limit, 0);
  assert.ok(b.ok);
  b = takeToken(b.ok ? b.bucket : undefined, limit, 0);
  assert.ok(b.ok);
  const empty = b.ok ? b.bucket : undefined;
  const refused = takeToken(empty, limit, 500);
  assert.equal(refused, { ok: false, retryAfterMs: 500 });
  assert.ok(takeToken(empty, limit, 1000).ok);
  assert.equal(refillBucket(empty, limit, 10 * 60_000), { tokens: 2000, updatedMs: 600_000 });
});

test("a socket key's share is half its address's budget, kept per address and key", () => {
  assert.equal(shareOf({ burst: 1200, perMinute: 6000 }), { burst: 600, perMinute: 3000 });
  assert.equal(shareOf({ burst: 1, perMinute: 1 }), { burst: 1, perMinute: 0.5 });
  const ip = { burst: 10, perMinute: 1 };
  const r = new RateLimiter({ ip, key: ip, share: shareOf(ip) });
  for (let i = 0; i < 5; i++) r.take('share', '127.0.0.1|a', 0);
  assert.throws(() => r.take('share', '127.0.0.1|a', 0), (e: Error) => /half of its address/.test(e.message));
  // Another key behind the same address, and the same key behind another, have their own shares.
  r.take('share', '127.0.0.1|b', 0);
  r.take('share', '127.0.0.2|a', 0);
});

test('error codes map to statuses', () => {
  assert.equal(
    ['bad-json', 'bad-signature', 'unknown-sector', 'beacon-undetermined', 'body-too-large', 'rate-limited', 'codec-truncated', 'high-hash', 'tx-bad-signature'].map(statusOf),
    [400, 401, 404, 409, 413, 429, 400, 422, 422],
  );
});

test('bodies are read up to their limit, whatever the headers claim', async () => {
  const req = (body: string, headers: Record<string, string> = {}) => new Request('http://127.0.0.1/', { method: 'POST', body, headers });
  assert.equal(await readBodyText(req('{"a":1}'), 7), { ok: true, text: '{"a":1}' });
  assert.is(((await readBodyText(req('{"a":12}'), 7)) as { code: string }).code, 'body-too-large');
  assert.is(((await readBodyText(req('{}', { 'content-length': 'x' }), 7)) as { code: string }).code, 'body-too-large');
  const bad = new Request('http://127.0.0.1/', { method: 'POST', body: Uint8Array.of(0xc3, 0x28) });
  assert.is(((await readBodyText(bad, 7)) as { code: string }).code, 'bad-json');
  // A declared length within the limit is read whole, and what arrived is still checked.
  assert.equal(await readBodyText(req('{"a":1}', { 'content-length': '7' }), 7), { ok: true, text: '{"a":1}' });
  assert.equal(await readBodyText(req('', { 'content-length': '0' }), 7), { ok: true, text: '' });
  assert.is(((await readBodyText(req('{"a":12}', { 'content-length': '2' }), 7)) as { code: string }).code, 'body-too-large');
  assert.is(((await readBodyText(req('{"a":12}', { 'content-length': '8' }), 7)) as { code: string }).code, 'body-too-large');
  const badDeclared = new Request('http://127.0.0.1/', { method: 'POST', body: Uint8Array.of(0xc3, 0x28), headers: { 'content-length': '2' } });
  assert.is(((await readBodyText(badDeclared, 7)) as { code: string }).code, 'bad-json');
});

test('a spec survives JSON; bad config is refused with a code naming the field', () => {
  const spec = { ...devnetSpec(123), allocations: [{ address: 'ab'.repeat(20), amounts: { 'gpu-hi': 5n } }] };
  assert.equal(specFromJson(specToJson(spec)), spec);
  assert.equal(specFromEnv({ POUW_GENESIS_TIME: '1000' }), devnetSpec(1000));
  assert.equal(specFromEnv({}), devnetSpec());
  const refused = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.instance(e, PouwError);
      return `${(e as PouwError).code}: ${(e as Error).message}`;
    }
    return 'accepted';
  };
  assert.match(refused(() => specFromJson(specToJson(spec).replace('"initialSubsidy":"5000000000"', '"initialSubsidy":5'))), /edge-bad-config: spec.sectors\[0\].initialSubsidy/);
  assert.match(refused(() => specFromJson('{')), /edge-bad-config: POUW_SPEC must be JSON/);
  assert.match(refused(() => specFromEnv({ POUW_GENESIS_TIME: 'soon' })), /POUW_GENESIS_TIME/);
  assert.equal(limitsFromJson('{"ip":{"burst":5}}'), { ...DEFAULT_EDGE_LIMITS, ip: { burst: 5, perMinute: DEFAULT_EDGE_LIMITS.ip.perMinute } });
  assert.match(refused(() => limitsFromJson('{"key":{"perMinute":-1}}')), /limits.key.perMinute/);
});

test('proofs in JSON are type-checked field by field', () => {
  const roots = Object.fromEntries(SECTIONS.map((s) => [s, '00'.repeat(32)]));
  const good = { section: 'txs', index: 0, size: 1, path: [], miner: '11'.repeat(20), roots };
  assert.is(proofOf(good).miner.length, 20);
  for (const bad of [{ ...good, section: 'nope' }, { ...good, index: 1 }, { ...good, path: ['00'] }, { ...good, roots: { ...roots, txs: 5 } }, null]) {
    try {
      proofOf(bad);
      assert.unreachable('accepted');
    } catch (e) {
      assert.is((e as PouwError).code, 'bad-proof');
    }
  }
});

test('pending windows are walked oldest first, window -1 included, each assigned once its beacon can be', () => {
  const G = 1_800_000_000_000;
  const spec = devnetSpec(G);
  const W = spec.main.windowMs;
  let clock = G - 1000;
  const db = new Database(':memory:');
  const c = new Coordinator(betterSqlite(db), { spec, now: () => clock });
  const sender = keyPairFromSeed(new Uint8Array(32).fill(9));
  const submit = (nonce: bigint) => {
    const tx = signTx(
      { version: 1, chain: 0, from: sender.publicKey, nonce, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(1), amount: 5n } },
      sender.secretKey,
      networkId(spec),
    );
    return c.handle({ op: 'main-submit', body: { tx: toHex(encodeTx(tx)) } });
  };
  // Before genesis: window -1, woken when it ends (R_0 needs only the genesis tips).
  const early = submit(0n);
  assert.equal([early.status, (early.body as { window: number }).window, early.wakeAtMs], [202, -1, G]);
  clock = G + 2000;
  const later = submit(1n);
  assert.is((later.body as { window: number }).window, 0);
  // This request assigned window -1's tx (R_0 is published) and stopped at window 0, still open.
  assert.equal(
    later.pushes.map((p) => [p.message.type, (p.message as { txid: string }).txid]),
    [['main-assignment', (early.body as { txid: string }).txid]],
  );
  assert.is(later.wakeAtMs, G + W);
  // The pre-genesis tx is assigned but cannot be recorded: a clear refusal, not a server error.
  const report = c.handle({ op: 'main-record', params: { txid: (early.body as { txid: string }).txid }, nodeKey: 'cc'.repeat(32), body: {} });
  assert.equal([report.status, (report.body as { error: { code: string } }).error.code], [422, 'not-recordable']);
  db.close();
});

test('a full window is assigned a bounded batch at a time, with an immediate wake-up until none is due', () => {
  const G = 1_800_000_000_000;
  const spec = devnetSpec(G);
  let clock = G - 1000;
  const db = new Database(':memory:');
  const c = new Coordinator(betterSqlite(db), { spec, now: () => clock, limits: { maxAssignmentsPerCall: 3 } });
  const sender = keyPairFromSeed(new Uint8Array(32).fill(10));
  for (let nonce = 0n; nonce < 7n; nonce++) {
    const tx = signTx(
      { version: 1, chain: 0, from: sender.publicKey, nonce, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(1), amount: 5n } },
      sender.secretKey,
      networkId(spec),
    );
    assert.is(c.handle({ op: 'main-submit', body: { tx: toHex(encodeTx(tx)) } }).status, 202);
  }
  // Window -1 has ended and R_0 is known: 3, 3 and 1 assignments, waking at once while more are due.
  clock = G + 10;
  const batches = [1, 2, 3].map(() => c.handle({ op: 'advance' }));
  assert.equal(batches.map((b) => b.pushes.length), [3, 3, 1]);
  assert.equal(batches.map((b) => b.wakeAtMs ?? null), [clock + 1, clock + 1, null]);
  const txids = batches.flatMap((b) => b.pushes.map((p) => (p.message as { txid: string }).txid));
  assert.is(new Set(txids).size, 7, 'each tx assigned once');
  assert.equal(txids, [...txids].sort(), 'in txid order');
  assert.throws(() => limitsFromJson('{"maxAssignmentsPerCall": 0}'), /maxAssignmentsPerCall must be an integer ≥ 1/);
  db.close();
});

test('a MAIN record report is refused once its block is more than recordWindows after the tx window, as blocks are', () => {
  const G = 1_800_000_000_000;
  const spec = testSpec(G);
  const W = spec.main.windowMs;
  let clock = G + 100;
  const db = new Database(':memory:');
  const c = new Coordinator(betterSqlite(db), { spec, now: () => clock });
  const chains = new Chains(spec);
  const sender = keyPairFromSeed(new Uint8Array(32).fill(11));
  const tx = signTx(
    { version: 1, chain: 0, from: sender.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(1), amount: 5n } },
    sender.secretKey,
    networkId(spec),
  );
  const txid = (c.handle({ op: 'main-submit', body: { tx: toHex(encodeTx(tx)) } }).body as { txid: string }).txid;
  const relay = (id: number, blocks: { header: BlockHeader }[]) =>
    c.handle({ op: 'headers', params: { sector: String(id) }, nodeKey: 'aa'.repeat(32), body: { headers: blocks.map((b) => toHex(encodeHeader(b.header))) } });
  // Window 0 ends; blocks after it settle R_1 and the tx is assigned.
  const end = windowEnd(0, G, W);
  clock = end + 50;
  for (const s of spec.sectors) assert.is(relay(s.id, chains.burstAfter(s.id, end)).status, 200);
  const status = c.handle({ op: 'main-status', params: { txid } }).body as { assigned: number[] };
  const p = status.assigned[0]!;
  const entry = encodeMainRecord({ window: 0, tx });
  const report = (at: number) => {
    clock = at;
    const b = chains.extend(p, { timeMs: at, body: { mainRecords: [entry] } });
    assert.is(relay(p, [b]).status, 200);
    return c.handle({ op: 'main-record', params: { txid }, nodeKey: 'aa'.repeat(32), body: { sectorId: p, header: toHex(encodeHeader(b.header)), proof: proofJson(bodyInclusionProof(b.body, 'mainRecords', 0)) } });
  };
  // The last window a block may still carry it in is accepted; the next is not.
  const lastOk = windowStart(spec.main.recordWindows, G, W) + 1;
  assert.is(report(lastOk).status, 201);
  const tooLate = windowStart(spec.main.recordWindows + 1, G, W) + 1;
  assert.is(windowOf(tooLate, G, W), spec.main.recordWindows + 1);
  const late = report(tooLate);
  assert.equal([late.status, (late.body as { error: { code: string } }).error.code], [422, 'record-too-late']);
  db.close();
});

test('asking for a beacon that is not determined yet keeps the earlier beacons it computed on the way', () => {
  const G = 1_800_000_000_000;
  const spec = testSpec(G);
  const W = spec.main.windowMs;
  const end = windowEnd(0, G, W);
  let clock = end + 50;
  const db = new Database(':memory:');
  const c = new Coordinator(betterSqlite(db), { spec, now: () => clock });
  const chains = new Chains(spec);
  for (const s of spec.sectors) {
    const blocks = chains.burstAfter(s.id, end);
    const r = c.handle({ op: 'headers', params: { sector: String(s.id) }, nodeKey: 'bb'.repeat(32), body: { headers: blocks.map((b) => toHex(encodeHeader(b.header))) } });
    assert.is(r.status, 200);
  }
  clock = windowStart(6, G, W) + 1;
  // R_5 waits on blocks past window 4; R_0 and R_1 can be computed now, and are kept.
  const r5 = c.handle({ op: 'beacon', params: { window: '5' } });
  assert.equal([r5.status, (r5.body as { error: { code: string } }).error.code], [409, 'beacon-undetermined']);
  const stored = db.prepare('SELECT window_no AS w FROM beacons ORDER BY window_no').all() as { w: number }[];
  assert.equal(stored.map((x) => x.w), [0, 1]);
  assert.is(c.handle({ op: 'beacon', params: { window: '1' } }).status, 200);
  db.close();
});


test('a read-only data directory is refused by name at start (edge-data-read-only), not as ENOENT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-ro-'));
  chmodSync(dir, 0o555);
  try {
    // Permissions do not bind root: a child run as root loads the edge, then drops to nobody
    // before starting it (so it needs no access to the checkout as nobody).
    const server = new URL('../../dist/edge/node-server.js', import.meta.url).href; // npm test builds first
    const script = `const m = await import(${JSON.stringify(server)});
      if (process.getuid() === 0) { process.setgid(65534); process.setuid(65534); }
      await m.startEdge({ port: 0, dbPath: ${JSON.stringify(join(dir, 'data', 'edge.db'))} }).then(
        () => console.log('started'), (e) => console.log(e.code + ' ' + e.message));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.match(r.stdout, /^edge-data-read-only .*not writable/, r.stdout + r.stderr);
    assert.ok(r.stdout.includes(dir), 'the message names the directory');
  } finally {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full disk: writes get 507 storage-full, reads and health keep working and health says degraded; rate limits never write', () => {
  const G = Date.now() - 10_000;
  const spec = devnetSpec(G);
  const db = new Database(':memory:');
  const c = new Coordinator(betterSqlite(db), { spec, limits: { ip: { burst: 3, perMinute: 1 } } });
  // Freeze the database at its current size: every later write that needs a page fails with SQLITE_FULL.
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages}`);
  const sender = keyPairFromSeed(new Uint8Array(32).fill(9));
  let refused = 0;
  for (let nonce = 0n; nonce < 400n && refused === 0; nonce++) {
    const tx = signTx(
      { version: 1, chain: 0, from: sender.publicKey, nonce, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(1), amount: 5n } },
      sender.secretKey,
      networkId(spec),
    );
    const r = c.handle({ op: 'main-submit', body: { tx: toHex(encodeTx(tx)) } });
    if (r.status === 507) {
      assert.is((r.body as { error: { code: string } }).error.code, 'storage-full');
      refused++;
    } else assert.is(r.status, 202);
  }
  assert.is(refused, 1, 'the disk filled up and the write was refused with its code');
  const health = c.handle({ op: 'health' });
  assert.equal([health.status, (health.body as { ok: boolean; degraded?: string }).ok, (health.body as { degraded?: string }).degraded], [200, false, 'storage-full']);
  assert.is(c.handle({ op: 'sectors' }).status, 200, 'reads keep working');
  // Rate limits are counted in memory: three requests from one address pass on the full disk, the fourth is limited.
  for (let i = 0; i < 3; i++) assert.is(c.handle({ op: 'health', ip: '10.0.0.1' }).status, 200);
  assert.is(c.handle({ op: 'health', ip: '10.0.0.1' }).status, 429);
  db.close();
});

test.run();
