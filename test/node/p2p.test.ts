// The sector transport on 127.0.0.1 with real WebSockets: handshake, message
// delivery, refusal of other genesis blocks, bans for garbage (by peer, then
// by host), oversize frames, and redialing with backoff (a banned dial target
// is dropped, another on the same host is redialed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { encodeMessage, MAX_MESSAGE_BYTES, WIRE_VERSION, type Message } from '../../core/wire.js';
import { P2P, TokenBucket, type Hello, type RateLimits } from '../../node/p2p.js';
import { until } from '../wait.js';

const id = (b: number) => new Uint8Array(32).fill(b);

function node(genesis = 1, port = 0, extra: { onMessage?: (m: Message) => void; closes?: string[]; rateLimits?: RateLimits } = {}) {
  const hello = (): Hello => ({ type: 'hello', version: WIRE_VERSION, networkId: id(9), sectorId: 3, genesisId: id(genesis), tipHeight: 0, tipId: id(genesis), listen: '' });
  return new P2P({
    host: '127.0.0.1',
    port,
    networkId: id(9),
    sectorId: 3,
    genesisId: id(genesis),
    hello,
    onMessage: (_peer, m) => extra.onMessage?.(m),
    onClose: (_peer, reason) => extra.closes?.push(reason),
    backoffMs: 50,
    maxBackoffMs: 200,
    handshakeTimeoutMs: 2000,
    ...(extra.rateLimits ? { rateLimits: extra.rateLimits } : {}),
  });
}



test('two nodes handshake and exchange messages', async () => {
  const got: Message[] = [];
  const a = node(1, 0, { onMessage: (m) => got.push(m) });
  const b = node(1);
  const port = await a.start();
  await b.start();
  b.connect(`ws://127.0.0.1:${port}`);
  await until(() => a.peers().length === 1 && b.peers().length === 1);
  b.broadcast({ type: 'inv', kind: 'tx', ids: [id(5)] });
  await until(() => got.length === 1);
  assert.equal(got[0], { type: 'inv', kind: 'tx', ids: [id(5)] });
  await a.stop();
  await b.stop();
});

test('a node of another genesis is refused and not redialed', async () => {
  const closes: string[] = [];
  const a = node(1);
  const c = node(2, 0, { closes });
  const port = await a.start();
  await c.start();
  c.connect(`ws://127.0.0.1:${port}`);
  await until(() => closes.some((r) => r.startsWith('handshake-mismatch')));
  await new Promise((r) => setTimeout(r, 300));
  assert.is(a.peers().length, 0);
  assert.is(c.peers().length, 0);
  await a.stop();
  await c.stop();
});

/** A raw inbound peer of `port` that handshakes, then sends garbage until it is dropped. */
async function garbagePeer(port: number): Promise<number> {
  const raw = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((r) => raw.once('open', r));
  const hello: Hello = { type: 'hello', version: WIRE_VERSION, networkId: id(9), sectorId: 3, genesisId: id(1), tipHeight: 0, tipId: id(1), listen: '' };
  raw.send(encodeMessage(hello));
  await new Promise((r) => setTimeout(r, 50));
  const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
  for (let i = 0; i < 4; i++) raw.send(Uint8Array.of(250, 1, 2, 3));
  return closed;
}

test('garbage frames get a peer banned, not its host; three bans from one host refuse the host; an oversize frame closes the socket', async () => {
  const a = node(1);
  const port = await a.start();
  const honest = node(1);
  await honest.start();
  honest.connect(`ws://127.0.0.1:${port}`);
  await until(() => a.peers().length === 1);
  await garbagePeer(port);
  assert.is(a.banList().length, 1);
  assert.not.ok(a.isHostBanned('127.0.0.1'));
  // The honest peer on the same host stays, and a new one from it is welcome.
  assert.is(a.peers().length, 1);
  const other = node(1);
  await other.start();
  other.connect(`ws://127.0.0.1:${port}`);
  await until(() => a.peers().length === 2);
  // Two more bans from the host: now the host is refused as a whole.
  await garbagePeer(port);
  await garbagePeer(port);
  assert.ok(a.isHostBanned('127.0.0.1'));
  // Refused at the upgrade, before a WebSocket (or anything it sends) exists.
  const again = new WebSocket(`ws://127.0.0.1:${port}`);
  again.on('error', () => undefined);
  const status = await new Promise<number>((r) => again.once('unexpected-response', (_req, res) => r(res.statusCode ?? 0)));
  assert.is(status, 403);
  await other.stop();
  await honest.stop();
  await a.stop();

  const b = node(1);
  const portB = await b.start();
  const big = new WebSocket(`ws://127.0.0.1:${portB}`);
  await new Promise((r) => big.once('open', r));
  const bigClosed = new Promise<number>((r) => big.once('close', (c) => r(c)));
  big.send(new Uint8Array(MAX_MESSAGE_BYTES + 1));
  assert.is(await bigClosed, 1009);
  await b.stop();
});

test('a dialer keeps retrying with backoff until the listener appears', async () => {
  const probe = node(1);
  const port = await probe.start();
  await probe.stop();
  const b = node(1);
  await b.start();
  b.connect(`ws://127.0.0.1:${port}`);
  await new Promise((r) => setTimeout(r, 300));
  const a = node(1, port);
  await a.start();
  await until(() => b.peers().length === 1);
  await a.stop();
  await b.stop();
});

test('token bucket: bursts up to its size, then waits in proportion to the deficit', () => {
  const b = new TokenBucket(100, 10, 0);
  for (let i = 0; i < 10; i++) assert.is(b.take(1, 0), 0);
  assert.is(b.take(1, 0), 10, 'one token short at 100/s: 10 ms');
  assert.is(b.take(0, 10), 0, 'refilled after 10 ms');
  assert.is(b.take(5, 10_000), 0, 'never above the burst');
  assert.is(b.take(6, 10_000), 10);
});

test('a peer sending faster than its limits is paused, not dropped, and every message still arrives in order', async () => {
  const got: number[] = [];
  const closes: string[] = [];
  const limits = { messagesPerSecond: 200, burstMessages: 20, bytesPerSecond: 1 << 20, burstBytes: 1 << 20 };
  const a = node(1, 0, { onMessage: (m) => m.type === 'ping' || got.push((m as { ids: Uint8Array[] }).ids[0]![0]!), closes, rateLimits: limits });
  const b = node(1);
  const port = await a.start();
  await b.start();
  b.connect(`ws://127.0.0.1:${port}`);
  await until(() => a.peers().length === 1 && b.peers().length === 1);
  const t0 = Date.now();
  for (let i = 0; i < 100; i++) b.broadcast({ type: 'inv', kind: 'tx', ids: [id(i)] });
  await until(() => got.length === 100, 10_000);
  const elapsed = Date.now() - t0;
  assert.equal(got, Array.from({ length: 100 }, (_, i) => i));
  const peer = a.peers()[0]!;
  assert.ok(peer.stats.throttled >= 1, 'the sender was paused at least once');
  assert.is(peer.score, 0, 'going over the limit is not misbehaviour');
  // 80 messages beyond the burst at 200/s cannot arrive in much less than 400 ms.
  assert.ok(elapsed >= 300, `throttled delivery took ${elapsed} ms`);
  assert.equal(closes, []);
  await a.stop();
  await b.stop();
});

test('switching the network off drops peers and refuses them; on again redials', async () => {
  const a = node(1);
  const b = node(1);
  const port = await a.start();
  await b.start();
  b.connect(`ws://127.0.0.1:${port}`);
  await until(() => a.peers().length === 1 && b.peers().length === 1);
  b.setActive(false);
  assert.is(b.isActive, false);
  await until(() => a.peers().length === 0 && b.peers().length === 0);
  // A dialing the inactive node is refused.
  a.connect(`ws://127.0.0.1:${b.port}`);
  await new Promise((r) => setTimeout(r, 300));
  assert.is(b.peers().length, 0);
  assert.equal(b.dialTargets(), [`ws://127.0.0.1:${port}`], 'the targets are kept while off');
  b.setActive(true);
  await until(() => a.peers().length >= 1 && b.peers().length >= 1);
  await a.stop();
  await b.stop();
});

test('a banned dial target is not redialed; another on the same host is, with backoff', async () => {
  const bad = node(1);
  const good = node(1);
  const badPort = await bad.start();
  const goodPort = await good.start();
  const a = node(1);
  await a.start();
  a.connect(`ws://127.0.0.1:${badPort}`);
  a.connect(`ws://127.0.0.1:${goodPort}`);
  await until(() => a.peers().length === 2);
  a.peers().find((p) => p.address.endsWith(`:${badPort}`))!.penalize(100, 'test-ban');
  assert.ok(a.isBanned(`ws://127.0.0.1:${badPort}`));
  assert.equal(a.dialTargets(), [`ws://127.0.0.1:${goodPort}`]);
  // The good one restarts on its port: it is dialed again.
  await good.stop();
  await until(() => a.peers().length === 0);
  const back = node(1, goodPort);
  await back.start();
  await until(() => a.peers().length === 1, 5000);
  assert.ok(a.peers()[0]!.address.endsWith(`:${goodPort}`));
  await back.stop();
  await bad.stop();
  await a.stop();
});

test.run();
