// The edge-API contract (api/): body codecs round-trip and refuse bad input
// with codes, frames are written and read by one definition, and the client
// calls every public route of a real edge on 127.0.0.1, parsing each answer
// with the route's own parser (so the edge's answers fit the contract).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { authMessage, signAuth } from '../../api/auth.js';
import { EdgeApi } from '../../api/client.js';
import { headerOf, proofOf, selectionOf } from '../../api/codec.js';
import { errorOf } from '../../api/errors.js';
import { headersFrame, mainAssignmentFrame, parseAssignment, parseEdgeFrame, parseNodeFrame, recordFrame, MAX_NODE_FRAME_BYTES } from '../../api/frames.js';
import { conversionBody, mainSubmitBody, recordBody, relayBody, ROUTE_NAMES, ROUTES, routePath } from '../../api/routes.js';
import { bodyInclusionProof } from '../../core/block.js';
import { equalBytes, toHex } from '../../core/bytes.js';
import { PouwError } from '../../core/errors.js';
import { networkId } from '../../core/genesis.js';
import { blockId, encodeHeader } from '../../core/header.js';
import { keyPairFromSeed, verify } from '../../core/keys.js';
import { encodeMainRecord } from '../../core/record.js';
import { encodeTx, signTx, txId, type Tx } from '../../core/tx.js';
import { Chains, startNodeRuntime, testSpec } from '../edge/fixtures.js';

const spec = testSpec(Date.now() - 30_000);
const NID = networkId(spec);
const key = keyPairFromSeed(new Uint8Array(32).fill(21));
const chains = new Chains(spec);
const LIMITS = { maxHeaders: 2000 };

function mainTx(nonce: bigint): Tx {
  return signTx({ version: 1, chain: 0, from: key.publicKey, nonce, fee: 1n, payload: { kind: 'transfer', to: new Uint8Array(20).fill(4), amount: 5n } }, key.secretKey, NID);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PouwError) return e.code;
    throw e;
  }
  return 'no error';
}

test('api/ is runtime-neutral: no ambient clock, randomness or Node globals, and it bundles for a neutral platform', async () => {
  const dir = fileURLToPath(new URL('../../api/', import.meta.url));
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    assert.not.match(readFileSync(dir + f, 'utf8'), /\b(Date\.now|Math\.random|process\.|Buffer\.|require\()/, `${f} uses a platform global`);
  }
  const out = await build({
    entryPoints: ['routes.ts', 'frames.ts', 'client.ts', 'http.ts', 'auth.ts'].map((f) => dir + f),
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    mainFields: ['module', 'main'],
    write: false,
    outdir: 'out',
    metafile: true,
    logLevel: 'silent',
  });
  assert.is(out.errors.length, 0);
  assert.not.ok(Object.keys(out.metafile!.inputs).some((i) => i.startsWith('node:')));
});

test('body codecs: what a client writes, the server parses back to the same values', () => {
  const tx = mainTx(0n);
  const raw = encodeTx(tx);
  assert.ok(equalBytes(mainSubmitBody.parse(mainSubmitBody.write({ tx, raw }), LIMITS).raw, raw));
  const blocks = [chains.extend(1), chains.extend(1)];
  const relayed = relayBody.parse(relayBody.write({ headers: blocks.map((b) => ({ header: b.header, workProof: b.workProof })) }), LIMITS);
  assert.equal(relayed.headers.map((h) => toHex(blockId(h.header))), blocks.map((b) => toHex(blockId(b.header))));
  // A matmul header travels with its work proof after its 104 bytes.
  const proof = new Uint8Array([1, 2, 3]);
  const withProof = relayBody.parse(relayBody.write({ headers: [{ header: { ...blocks[0]!.header, workKind: 'matmul' }, workProof: proof }] }), LIMITS);
  assert.equal([withProof.headers[0]!.header.workKind, [...withProof.headers[0]!.workProof]], ['matmul', [1, 2, 3]]);
  const rec = chains.extend(2, { body: { mainRecords: [encodeMainRecord({ window: 3, tx })] } });
  const report = { sectorId: 2, header: rec.header, proof: bodyInclusionProof(rec.body, 'mainRecords', 0) };
  assert.equal(recordBody.parse(JSON.parse(JSON.stringify(recordBody.write(report))), LIMITS), report);
  const conv = { lock: { kind: 'tx' as const, tx }, raw, header: rec.header, proof: bodyInclusionProof(rec.body, 'mainRecords', 0) };
  const back = conversionBody.parse(JSON.parse(JSON.stringify(conversionBody.write(conv))), LIMITS);
  assert.ok(equalBytes(back.raw, raw));
  assert.equal(back.header, rec.header);
});

test('body codecs refuse bad input with codes, whatever it is', () => {
  assert.is(codeOf(() => relayBody.parse({ headers: [] }, LIMITS)), 'bad-request');
  assert.is(codeOf(() => relayBody.parse({ headers: ['00'] }, LIMITS)), 'bad-request');
  assert.is(codeOf(() => relayBody.parse({ headers: new Array(3).fill(toHex(encodeHeader(chains.tip(1).header))) }, { maxHeaders: 2 })), 'bad-request');
  assert.is(codeOf(() => mainSubmitBody.parse([], LIMITS)), 'bad-request');
  assert.is(codeOf(() => recordBody.parse({ sectorId: 0 }, LIMITS)), 'bad-request');
  assert.is(codeOf(() => proofOf({ section: 'nope' })), 'bad-proof');
  assert.is(codeOf(() => selectionOf({ order: [0], primary: [], fallback: [] })), 'bad-request');
  // Random JSON never makes a parser throw anything but a coded refusal.
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      for (const parse of [(x: unknown) => relayBody.parse(x, LIMITS), (x: unknown) => recordBody.parse(x, LIMITS), (x: unknown) => conversionBody.parse(x, LIMITS), (x: unknown) => mainSubmitBody.parse(x, LIMITS)]) {
        try {
          parse(v);
        } catch (e) {
          if (!(e instanceof PouwError)) return false;
        }
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

test('routes: every route is unique, under /v1, and paths fill their parameters', () => {
  const keys = ROUTE_NAMES.map((n) => `${ROUTES[n].method} ${ROUTES[n].path}`);
  assert.is(new Set(keys).size, keys.length);
  for (const n of ROUTE_NAMES) assert.ok(ROUTES[n].path.startsWith('/v1/'), n);
  for (const n of ROUTE_NAMES) assert.is(ROUTES[n].body !== undefined, ROUTES[n].bodyLimit > 0, `${n}: a JSON body has a codec and a limit`);
  assert.is(routePath(ROUTES['main-record'], { txid: 'ab' }), '/v1/main/tx/ab/records');
  assert.is(routePath(ROUTES.tip, { sector: 'gpu hi' }), '/v1/sectors/gpu%20hi/tip');
  assert.throws(() => routePath(ROUTES.tip), RangeError);
});

test('frames: node frames are read as the request their HTTP twin makes; refusals carry codes', () => {
  const tx = mainTx(1n);
  const rec = chains.extend(3, { body: { mainRecords: [encodeMainRecord({ window: 2, tx })] } });
  const report = { sectorId: 3, header: rec.header, proof: bodyInclusionProof(rec.body, 'mainRecords', 0) };
  const f = parseNodeFrame(JSON.stringify(recordFrame('main', txId(tx), report, 9)));
  assert.ok(f.ok);
  if (!f.ok || f.request.type !== 'record') throw new Error('not a record request');
  assert.equal([f.request.id, f.request.kind, f.request.txid], [9, 'main', toHex(txId(tx))]);
  assert.equal(recordBody.parse(f.request.body, LIMITS), report);
  const h = parseNodeFrame(JSON.stringify(headersFrame([{ header: rec.header, workProof: rec.workProof }], 'x')));
  assert.ok(h.ok && h.request.type === 'headers' && h.request.id === 'x');
  const bad = (data: string | ArrayBuffer) => {
    const r = parseNodeFrame(data);
    return r.ok ? 'ok' : r.code;
  };
  assert.is(bad('{nope'), 'bad-json');
  assert.is(bad(new Uint8Array([0xff, 0xfe]).buffer), 'bad-json');
  assert.is(bad('{"type":"mine"}'), 'bad-request');
  assert.is(bad('{"type":"record","kind":"other"}'), 'bad-request');
  assert.is(bad(' '.repeat(MAX_NODE_FRAME_BYTES + 1)), 'body-too-large');
});

test('frames: an assignment the edge writes, a node reads back field for field', () => {
  const tx = mainTx(2n);
  const beacon = new Uint8Array(32).fill(9);
  const selection = { order: [2, 1, 3], primary: [2, 1], fallback: [3] };
  const frame = mainAssignmentFrame({ txid: txId(tx), raw: encodeTx(tx), window: 4, beaconWindow: 5, beacon, selection });
  const got = parseEdgeFrame(JSON.stringify(frame));
  assert.ok(got?.type === 'main-assignment');
  const a = parseAssignment(got as typeof frame);
  assert.equal([a.kind, a.window, a.beaconWindow, a.claimed, toHex(a.txid)], ['main', 4, 5, selection, toHex(txId(tx))]);
  assert.ok(equalBytes(a.beacon, beacon));
  assert.is(parseEdgeFrame('[1]'), undefined);
  assert.is(parseEdgeFrame('{"type":"reply","id":1,"status":9000}'), undefined);
  assert.is(codeOf(() => parseAssignment({ ...frame, beacon: 'zz' })), 'bad-request');
});

test('auth: the signed message binds network, challenge, edge, method, path with query and body', () => {
  const challenge = new Uint8Array(32).fill(3);
  const req = { method: 'POST', path: '/v1/sectors/1/headers', body: '{"headers":[]}', edge: '127.0.0.1:8787' };
  const sig = signAuth(key.secretKey, NID, challenge, req);
  assert.ok(verify(sig, authMessage(NID, challenge, req), key.publicKey));
  assert.ok(verify(sig, authMessage(NID, challenge, { ...req, method: 'post', edge: '127.0.0.1:8787'.toUpperCase() }), key.publicKey), 'method and host are case-free');
  for (const other of [
    { ...req, path: '/v1/sectors/2/headers' },
    { ...req, path: '/v1/sectors/1/headers?x=1' },
    { ...req, body: '{"headers":[1]}' },
    { ...req, body: '' },
    { ...req, edge: '127.0.0.1:8788' },
    { ...req, method: 'GET' },
    // Field boundaries are length-prefixed: moving a character from one field to the next changes the message.
    { ...req, edge: '127.0.0.1:8787P', method: 'OST' },
  ]) {
    assert.not.ok(verify(sig, authMessage(NID, challenge, other), key.publicKey), JSON.stringify(other));
  }
  assert.not.ok(verify(sig, authMessage(new Uint8Array(32), challenge, req), key.publicKey));
  assert.not.ok(verify(sig, authMessage(NID, new Uint8Array(32).fill(4), req), key.publicKey));
});

test('client: every public route of a real edge answers what its parser accepts; node routes sign themselves', async () => {
  const edge = await startNodeRuntime(spec);
  try {
    const api = new EdgeApi({ url: edge.url, node: { key, networkId: NID } });
    const health = await api.call('health');
    assert.ok(health.ok && health.value.networkId === toHex(NID));
    const sectors = await api.call('sectors');
    assert.ok(sectors.ok);
    assert.equal(sectors.ok && sectors.value.sectors.map((s) => s.id), spec.sectors.map((s) => s.id));
    const headers = chains.chain(1).slice(1).map((b) => ({ header: b.header, workProof: b.workProof }));
    const relay = await api.call('headers', { params: { sector: 1 }, body: { headers } });
    assert.ok(relay.ok, JSON.stringify(relay));
    assert.is(relay.ok && relay.value.tip.height, headers.length);
    const tip = await api.call('tip', { params: { sector: 'gpu-hi' } });
    assert.ok(tip.ok && tip.value.id === toHex(blockId(headers[headers.length - 1]!.header)));
    const range = await api.call('header-range', { params: { sector: 1 }, query: { from: 1, count: 1 } });
    assert.ok(range.ok && range.value.headers.length === 1 && range.value.headers[0]!.height === 1);
    const tx = mainTx(7n);
    const sent = await api.call('main-submit', { body: { tx, raw: encodeTx(tx) } });
    assert.ok(sent.ok && sent.status === 202 && sent.value.status === 'pending');
    const status = await api.call('main-status', { params: { txid: toHex(txId(tx)) } });
    assert.ok(status.ok && status.value.kind === 'main' && status.value.records.length === 0);
    const challenge = await api.call('challenge');
    assert.ok(challenge.ok && challenge.value.challenge.length === 64);
    // Refusals come back as codes, with the status the edge chose.
    const unknown = await api.call('main-status', { params: { txid: '0'.repeat(64) } });
    assert.equal(unknown.ok ? 'ok' : [unknown.status, unknown.code], [404, 'unknown-tx']);
    const future = await api.call('beacon', { params: { window: 10 ** 9 } });
    assert.equal(future.ok ? 'ok' : future.code, 'window-not-ended');
    const anonymous = new EdgeApi({ url: edge.url });
    const noKey = await anonymous.call('headers', { params: { sector: 1 }, body: { headers } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(noKey, RangeError, 'a node route without a node key is a programmer error');
  } finally {
    await edge.close();
  }
});

test('client: an answer that does not fit its route is bad-answer; no answer is edge-unreachable', async () => {
  const fake = (text: string, status = 200) => new EdgeApi({ url: 'http://127.0.0.1:9', fetch: async () => new Response(text, { status }) });
  const garbled = await fake('{"ok":true}').call('health');
  assert.equal(garbled.ok ? 'ok' : garbled.code, 'bad-answer');
  const notJson = await fake('<html>', 502).call('sectors');
  assert.equal(notJson.ok ? 'ok' : [notJson.status, notJson.code], [502, 'status-502']);
  const refused = await fake(JSON.stringify({ error: { code: 'rate-limited', message: 'slow down' } }), 429).call('sectors');
  assert.equal(refused.ok ? 'ok' : [refused.code, refused.message], ['rate-limited', 'slow down']);
  assert.equal(errorOf({ error: { code: 'x' } }), { code: 'x', message: '' });
  // A server that never answers (the timer stands in for its open socket, which would keep the process alive).
  const silent = new EdgeApi({
    url: 'http://127.0.0.1:9',
    timeoutMs: 50,
    fetch: (_u, init) =>
      new Promise((_, reject) => {
        const socket = setTimeout(() => undefined, 5000);
        init!.signal!.addEventListener('abort', () => {
          clearTimeout(socket);
          reject(init!.signal!.reason);
        });
      }),
  });
  try {
    await silent.call('health');
    assert.unreachable('a silent edge must time out');
  } catch (e) {
    assert.instance(e, PouwError);
    assert.is((e as PouwError).code, 'edge-unreachable');
    assert.match((e as Error).message, /no answer in 50 ms/);
  }
  assert.throws(() => new EdgeApi({ url: 'ftp://x' }), RangeError);
  assert.is(codeOf(() => headerOf('00')), 'bad-request');
});

test.run();
