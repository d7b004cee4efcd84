// The peer list survives a restart: a node remembers the peers it reached
// (dialed URLs, and the listen address inbound peers announce), dials them
// again at start without being told, does not dial one it banned, and still
// refuses that host's inbound connections after the restart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { SectorNode } from '../../node/sector-node.js';
import { until } from '../wait.js';

const base = devnetSpec(Date.now() - 600_000);
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x207fffff })) };
const sector = spec.sectors[0]!;

test('remembered peers are dialed after a restart; a banned one is neither dialed nor let in', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-peers-'));
  const a = new SectorNode({ spec, sector, dbPath: join(dir, 'a.db'), verifyThreads: 0 });
  const portA = await a.start();
  const urlA = `ws://127.0.0.1:${portA}`;
  let b = new SectorNode({ spec, sector, dbPath: join(dir, 'b.db'), peers: [urlA], verifyThreads: 0 });
  try {
    await b.start();
    await until(() => a.p2p.peers().length === 1 && b.p2p.peers().length === 1);
    assert.ok(b.store.peers.get(urlA)?.lastSeenMs, 'the dialed peer is remembered');
    await until(() => a.store.peers.list().some((p) => p.url === `ws://127.0.0.1:${b.p2p.port}`));
    await b.stop();
    await until(() => a.p2p.peers().length === 0);

    // No --peer this time: the store remembers A.
    b = new SectorNode({ spec, sector, dbPath: join(dir, 'b.db'), verifyThreads: 0 });
    await b.start();
    await until(() => a.p2p.peers().length === 1 && b.p2p.peers().length === 1);

    // B bans A; the ban is stored, and after another restart A is left alone.
    b.p2p.peers()[0]!.penalize(100, 'test-ban');
    assert.ok(b.store.peers.get(urlA)!.bannedUntilMs > Date.now());
    await b.stop();
    b = new SectorNode({ spec, sector, dbPath: join(dir, 'b.db'), verifyThreads: 0 });
    await b.start();
    await new Promise((r) => setTimeout(r, 500));
    assert.is(b.p2p.peers().length, 0);
    assert.equal(b.p2p.dialTargets(), []);
    // And A dialing B is refused: the ban of A's URL outlived the restart, and A's hello names it.
    assert.ok(b.p2p.isBanned(urlA));
    assert.not.ok(b.p2p.isHostBanned('127.0.0.1'), "the ban is A's, not its host's");
    a.p2p.connect(`ws://127.0.0.1:${b.p2p.port}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.is(b.p2p.peers().length, 0);
    assert.is(a.p2p.peers().length, 0);
  } finally {
    await b.stop();
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
