// `pouw node start` as a real process: it mines, serves its API on
// 127.0.0.1, answers `pouw node status`, stops cleanly on SIGINT, and a second
// node started with the first as peer syncs to it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../wait.js';
import { BIN, cleanEnv, pouwJson, startNode, stopNode, type NodeProc } from './procs.js';

test('node start mines, serves status, and a peer syncs to it; both stop cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-cli-node-'));
  const genesis = String(Date.now() - 60_000);
  const a = await startNode(dir, ['--sector', 'cpu-edge', '--mine', '--data', join(dir, 'a'), '--genesis-time', genesis, '--verify-threads', '0']);
  let b: NodeProc | undefined;
  try {
    assert.is(a.events.find((e) => e.type === 'miner-start')!.backend !== undefined, true);
    await until(() => a.events.filter((e) => e.type === 'block-found' && e.accepted).length >= 3);
    const s = pouwJson(dir, ['node', 'status', '--sector', 'cpu-edge', '--data', join(dir, 'a')]);
    assert.ok(s.tip.height >= 3);
    assert.is(s.sector, 'cpu-edge');
    assert.is(s.verifyThreads, 0, '--verify-threads 0 verifies on the main thread');

    b = await startNode(dir, ['--sector', 'cpu-edge', '--data', join(dir, 'b'), '--genesis-time', genesis, '--peer', a.p2p]);
    // With one node under the data directory, status finds it without --sector.
    await until(() => pouwJson(dir, ['node', 'status', '--data', join(dir, 'b')]).tip.height >= 3);
    assert.match(b.api, /^http:\/\/127\.0\.0\.1:\d+$/);
  } finally {
    assert.is(await stopNode(a), 0);
    if (b) assert.is(await stopNode(b), 0);
    assert.ok(a.events.some((e) => e.type === 'stopped'));
    // A stopped node is not found as running any more.
    assert.not.ok(existsSync(join(dir, 'a', 'cpu-edge', 'node.json')));
    const gone = spawnSync(process.execPath, [BIN, 'node', 'status', '--data', join(dir, 'a'), '--json'], { encoding: 'utf8', env: cleanEnv(dir) });
    assert.is(gone.status, 2);
    assert.match(JSON.parse(gone.stdout).error.message, /no running node found/);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('status without a running node is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-cli-node-'));
  const r = spawnSync(process.execPath, [BIN, 'node', 'status', '--sector', 'accel', '--data', dir, '--json'], { encoding: 'utf8', env: cleanEnv(dir) });
  assert.is(r.status, 1);
  assert.is(JSON.parse(r.stdout).error.code, 'node-not-running');
  rmSync(dir, { recursive: true, force: true });
});

test('node start without a sector from any layer is a usage error naming all three', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-cli-node-'));
  const r = spawnSync(process.execPath, [BIN, 'node', 'start', '--data', dir, '--json'], { encoding: 'utf8', env: cleanEnv(dir) });
  assert.is(r.status, 2);
  const e = JSON.parse(r.stdout).error;
  assert.is(e.code, 'usage');
  assert.match(e.message, /--sector is required \(or set POUW_SECTOR, or "sector" in the configuration file\)/);
  rmSync(dir, { recursive: true, force: true });
});

test('tx send refuses bad amounts and unknown recipients before touching the node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-cli-node-'));
  pouwJson(dir, ['keys', 'new', '--name', 'alice']);
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'tx', 'send', ...args, '--json'], { encoding: 'utf8', env: cleanEnv(dir) });
  // No node is needed to reject a missing recipient or a node URL that is not http.
  const noTo = run(['--from', 'alice', '--amount', '1', '--api', 'http://127.0.0.1:1']);
  assert.is(noTo.status, 2);
  assert.match(JSON.parse(noTo.stdout).error.message, /--to is required/);
  const badApi = run(['--from', 'alice', '--to', 'alice', '--amount', '1', '--api', 'ftp://x']);
  assert.is(badApi.status, 2);
  const noNode = run(['--from', 'alice', '--to', 'alice', '--amount', '1', '--api', 'http://127.0.0.1:1']);
  assert.is(noNode.status, 1);
  assert.is(JSON.parse(noNode.stdout).error.code, 'node-unreachable');
  const noKey = run(['--from', 'nobody', '--to', 'alice', '--amount', '1', '--api', 'http://127.0.0.1:1']);
  assert.is(JSON.parse(noKey.stdout).error.code, 'key-not-found');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
