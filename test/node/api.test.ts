// The local API through Hono's app.request (no socket): answers, and hostile
// requests that get 4xx with codes and change nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../core/bytes.js';
import { genesisBlock } from '../../core/genesis.js';
import { addressOf, encodeAddress, keyPairFromSeed } from '../../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { encodeTx, signTx } from '../../core/tx.js';
import { createApi } from '../../node/api.js';
import { SectorNode } from '../../node/sector-node.js';
import { mineChild } from './fixtures/mine.js';

const base = devnetSpec(Date.now() - 600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[0]!;
const key = keyPairFromSeed(new Uint8Array(32).fill(31));
const token = 'ab'.repeat(32);
const auth = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

test('the local API answers and refuses bad input with codes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-api-'));
  const node = new SectorNode({ spec, sector, dbPath: join(dir, 'n.db') });
  try {
    const block = mineChild(spec, sector, genesisBlock(spec, sector), addressOf(key.publicKey));
    node.submitBlock(block);
    const app = createApi(node, { token });
    const get = async (path: string) => {
      const r = await app.request(path);
      return { status: r.status, body: (await r.json()) as any };
    };
    const post = async (body: string) => {
      const r = await app.request('/v1/tx', { method: 'POST', body, headers: { ...auth, 'content-length': String(body.length) } });
      return { status: r.status, body: (await r.json()) as any };
    };
    const status = await get('/v1/status');
    assert.is(status.body.tip.height, 1);
    assert.is((await get('/v1/block/1')).body.header.height, 1);
    assert.is((await get(`/v1/block/${toHex(node.chain.tip().id)}`)).body.header.height, 1);
    assert.is((await get('/v1/block/7')).status, 404);
    assert.equal((await get('/v1/block/zz')).body.error.code, 'bad-request');
    const addr = encodeAddress(addressOf(key.publicKey), spec.addressPrefix);
    assert.is((await get(`/v1/account/${addr}`)).body.balance, sector.initialSubsidy.toString());
    assert.is((await get('/v1/account/nonsense')).status, 400);
    assert.is((await get('/v1/nothing')).status, 404);

    assert.is((await post('{not json')).body.error.code, 'bad-json');
    assert.is((await post('{"tx": 5}')).status, 400);
    assert.is((await post(JSON.stringify({ tx: 'ab'.repeat(9000) }))).status, 413);
    // Without a length (chunked), an oversize body is cut all the same.
    const chunked = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < 8; i++) ctl.enqueue(new Uint8Array(4096).fill(0x20));
        ctl.close();
      },
    });
    const big = await app.request('/v1/tx', { method: 'POST', body: chunked, headers: auth, duplex: 'half' } as RequestInit);
    assert.is(big.status, 413);
    assert.is(((await big.json()) as any).error.code, 'body-too-large');
    assert.is((await post(JSON.stringify({ tx: '01' }))).body.error.code, 'codec-truncated');
    const tx = signTx(
      { version: 1, chain: sector.id, from: key.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20), amount: 5n } },
      key.secretKey,
      node.networkId,
    );
    const bad = encodeTx({ ...tx, nonce: 3n });
    assert.is((await post(JSON.stringify({ tx: toHex(bad) }))).status, 422);
    assert.is(node.mempool.size, 0);
    const ok = await post(JSON.stringify({ tx: toHex(encodeTx(tx)) }));
    assert.is(ok.status, 202);
    assert.is((await get(`/v1/tx/${ok.body.txid}`)).body.status, 'pending');
    // The account shows the pending tx and the nonce after it.
    const pending = (await get(`/v1/account/${addr}`)).body.pending;
    assert.equal(pending, { txs: [ok.body.txid], nextNonce: '1', spend: '6' });
    assert.is(status.body.networkId, toHex(node.networkId));
    assert.is(status.body.sectorId, sector.id);
    assert.is(status.body.addressPrefix, spec.addressPrefix);
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('operator controls: dial a peer, switch the network off and on, and mining needs a miner', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-api-'));
  const node = new SectorNode({ spec, sector, dbPath: join(dir, 'n.db') });
  try {
    await node.start();
    const app = createApi(node, { token });
    const post = async (path: string, body: string) => {
      const r = await app.request(path, { method: 'POST', body, headers: auth });
      return { status: r.status, body: (await r.json()) as any };
    };
    assert.equal(await post('/v1/network', '{"active": false}'), { status: 200, body: { active: false } });
    assert.is(node.p2p.isActive, false);
    assert.equal(await post('/v1/network', '{"active": true}'), { status: 200, body: { active: true } });
    assert.is((await post('/v1/network', '{"active": "yes"}')).body.error.code, 'bad-request');
    assert.is((await post('/v1/network', 'nope')).body.error.code, 'bad-json');
    const dial = await post('/v1/peers', '{"url": "ws://127.0.0.1:9"}');
    assert.is(dial.status, 202);
    assert.equal(dial.body.dialing, ['ws://127.0.0.1:9']);
    for (const bad of ['{"url": "http://127.0.0.1:9"}', '{"url": 5}', '{"url": "ws://"}']) assert.is((await post('/v1/peers', bad)).status, 400);
    assert.equal(node.p2p.dialTargets(), ['ws://127.0.0.1:9'], 'refused URLs are not dialed');
    assert.equal(await post('/v1/mining', '{"active": true}'), { status: 409, body: { error: { code: 'not-mining', message: 'this node was started without --mine' } } });
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('closed to web pages: a foreign Host, a cross origin, a non-JSON body or a missing token is refused, and nothing changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-api-'));
  const node = new SectorNode({ spec, sector, dbPath: join(dir, 'n.db') });
  try {
    await node.start();
    const app = createApi(node, { token, hosts: ['node.example'] });
    const call = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => {
      const r = await app.request(`http://127.0.0.1:8080${path}`, init);
      return { status: r.status, code: ((await r.json()) as any).error?.code as string | undefined };
    };
    const off = (headers: Record<string, string>) => call('/v1/network', { method: 'POST', body: '{"active": false}', headers });
    // DNS rebinding: the page's own name resolves to 127.0.0.1, and its Host says so.
    assert.equal(await call('/v1/status', { headers: { host: 'evil.example:8080' } }), { status: 403, code: 'bad-host' });
    assert.equal(await off({ ...auth, host: 'evil.example' }), { status: 403, code: 'bad-host' });
    assert.equal(await call('/v1/status', { headers: { host: 'node.example' } }), { status: 200, code: undefined }, 'an allowed name');
    assert.equal(await call('/v1/status', { headers: { host: 'localhost:8080' } }), { status: 200, code: undefined });
    // A page on another origin, even with the token (which it cannot have), is refused.
    assert.equal(await off({ ...auth, origin: 'http://evil.example' }), { status: 403, code: 'cross-origin' });
    assert.equal(await call('/v1/status', { headers: { origin: 'null' } }), { status: 403, code: 'cross-origin' });
    // What an HTML form or a no-preflight fetch can send: text/plain, form encoding.
    assert.equal(await off({ 'content-type': 'text/plain', authorization: auth.authorization }), { status: 415, code: 'bad-content-type' });
    assert.equal(await off({ 'content-type': 'application/x-www-form-urlencoded' }), { status: 415, code: 'bad-content-type' });
    assert.equal(await off({ 'content-type': 'application/json' }), { status: 401, code: 'auth-required' });
    assert.equal(await off({ 'content-type': 'application/json', authorization: `Bearer ${'cd'.repeat(32)}` }), { status: 401, code: 'bad-token' });
    assert.equal(await call('/v1/peers', { method: 'POST', body: '{"url": "ws://127.0.0.1:9"}', headers: { 'content-type': 'application/json' } }), { status: 401, code: 'auth-required' });
    assert.is(node.p2p.isActive, true, 'the network was never switched off');
    assert.equal(node.p2p.dialTargets(), [], 'nothing was dialed');
    // The same request with the token and from the API's own origin goes through.
    assert.equal(await off({ ...auth, origin: 'http://127.0.0.1:8080' }), { status: 200, code: undefined });
    assert.is(node.p2p.isActive, false);
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
