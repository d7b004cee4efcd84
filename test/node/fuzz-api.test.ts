// Property tests of the node's local API and its P2P messages: generated
// requests (any method and path, hostile bodies, content types, hosts,
// origins and tokens) get a 2xx or a coded 4xx, never a 5xx, and none without
// the token changes the node; generated wire messages from a peer leave the
// node running with its chain and mempool as they were.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import type { Message } from '../../core/wire.js';
import { createApi } from '../../node/api.js';
import { SectorNode } from '../../node/sector-node.js';
import { rawPeer } from './fixtures/raw-peer.js';
import { until } from '../wait.js';

const base = devnetSpec(Date.now() - 600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[2]!;
const token = 'cd'.repeat(32);

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[0-9a-f]{0,70}$/), fc.constantFrom('1', '0', '-1', 'zz', '%00'));

test('generated local API requests: 2xx or a coded 4xx, and without the token nothing changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-fuzz-api-'));
  const node = new SectorNode({ spec, sector, dbPath: join(dir, 'n.db') });
  try {
    await node.start();
    const app = createApi(node, { token });
    const state = () => JSON.stringify([node.p2p.isActive, node.p2p.dialTargets(), node.mempool.size, node.chain.tip().height]);
    const before = state();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
          path: fc.oneof(fc.constantFrom('/v1/status', '/v1/tx', '/v1/peers', '/v1/network', '/v1/mining'), text.map((t) => `/v1/block/${t}`), text.map((t) => `/v1/tx/${t}`), text.map((t) => `/v1/account/${t}`), text.map((t) => `/${t}`)),
          body: fc.oneof(fc.constant(undefined), fc.json({ maxDepth: 2 }), fc.string({ maxLength: 200 }), fc.constant('{"active": false}'), fc.constant('{"url": "ws://127.0.0.1:9"}')),
          contentType: fc.constantFrom(undefined, 'application/json', 'text/plain'),
          host: fc.constantFrom(undefined, 'localhost:1', 'evil.example', ''),
          origin: fc.constantFrom(undefined, 'http://evil.example', 'null'),
          auth: fc.constantFrom(undefined, 'Bearer ' + 'ab'.repeat(32), 'Bearer x', token),
        }),
        async (g) => {
          const headers: Record<string, string> = {};
          if (g.contentType) headers['content-type'] = g.contentType;
          if (g.host !== undefined) headers.host = g.host;
          if (g.origin) headers.origin = g.origin;
          if (g.auth) headers.authorization = g.auth;
          const r = await app.request(`http://127.0.0.1:1${g.path.startsWith('/') ? g.path : `/${g.path}`}`, {
            method: g.method,
            headers,
            body: g.method === 'GET' ? undefined : g.body,
          });
          assert.ok(r.status < 500, `${g.method} ${g.path}: ${r.status}`);
          if (r.status >= 400) assert.type(((await r.json()) as { error: { code: unknown } }).error.code, 'string');
        },
      ),
      { numRuns: 300 },
    );
    assert.is(state(), before, 'no generated request carried the token, so none changed the node');
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('get-headers' as const), locator: fc.array(id32, { maxLength: 5 }), stop: id32 }),
  fc.record({ type: fc.constant('get-blocks' as const), ids: fc.array(id32, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('inv' as const), kind: fc.constantFrom('block' as const, 'tx' as const), ids: fc.array(id32, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('get-txs' as const), ids: fc.array(id32, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('tx' as const), tx: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant('block' as const), block: fc.uint8Array({ maxLength: 600 }) }),
  fc.record({ type: fc.constant('ping' as const), nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  fc.record({ type: fc.constant('reject' as const), code: fc.stringMatching(/^[a-z-]{0,20}$/), detail: fc.stringMatching(/^[ -~]{0,40}$/) }),
);

test('generated P2P messages leave the node running, its chain and mempool unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-fuzz-p2p-'));
  const node = new SectorNode({ spec, sector, dbPath: join(dir, 'n.db') });
  try {
    const port = await node.start();
    const messages = fc.sample(fc.array(message, { minLength: 20, maxLength: 40 }), 10);
    for (const batch of messages) {
      if (node.p2p.isHostBanned('127.0.0.1')) break;
      const peer = await rawPeer(node, port);
      await until(() => node.p2p.peers().length >= 1 || peer.closed);
      for (const m of batch) if (!peer.closed) peer.send(m);
      // A ping after them: answered unless the peer was dropped for what it sent.
      if (!peer.closed) peer.send({ type: 'ping', nonce: 7n });
      await until(() => peer.closed || peer.received.some((m) => m.type === 'pong' && m.nonce === 7n), 10_000);
      peer.close();
      await until(() => node.p2p.peers().length === 0, 5_000);
    }
    assert.is(node.chain.tip().height, 0);
    assert.is(node.mempool.size, 0);
    assert.is(node.chain.orphanBlocks, 0);
    // Still serving: a fresh peer handshakes, unless three of this host's peers earned bans (then the host is refused).
    if (node.p2p.isHostBanned('127.0.0.1')) {
      assert.ok(node.p2p.banList().length >= 3);
    } else {
      const last = await rawPeer(node, port);
      await until(() => node.p2p.peers().length === 1, 5_000);
      last.close();
    }
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
