// `pouw node start` as a real process: it mines, serves its API on
// 127.0.0.1, answers `pouw node status`, stops cleanly on SIGINT, and a second
// node started with the first as peer syncs to it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'pouw.js');

function startNode(args: string[]): { child: ChildProcess; events: Record<string, unknown>[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, 'node', 'start', '--json', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, events, exited };
}



test('node start mines, serves status, and a peer syncs to it; both stop cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-cli-node-'));
  const genesis = String(Date.now() - 60_000);
  const a = startNode(['--sector', 'cpu-edge', '--mine', '--data', join(dir, 'a'), '--genesis-time', genesis]);
  let b: ReturnType<typeof startNode> | undefined;
  try {
    await until(() => a.events.some((e) => e.type === 'ready'));
    const ready = a.events.find((e) => e.type === 'ready')!;
    assert.is(a.events.find((e) => e.type === 'miner-start')!.backend !== undefined, true);
    await until(() => a.events.filter((e) => e.type === 'block-found' && e.accepted).length >= 3);
    const status = spawnSync(process.execPath, [bin, 'node', 'status', '--sector', 'cpu-edge', '--data', join(dir, 'a'), '--json'], { encoding: 'utf8' });
    assert.is(status.status, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.ok(s.tip.height >= 3);
    assert.is(s.sector, 'cpu-edge');

    b = startNode(['--sector', 'cpu-edge', '--data', join(dir, 'b'), '--genesis-time', genesis, '--peer', String(ready.p2p)]);
    await until(() => b!.events.some((e) => e.type === 'ready'));
    const readyB = b.events.find((e) => e.type === 'ready')!;
    await until(() => {
      const r = spawnSync(process.execPath, [bin, 'node', 'status', '--sector', 'cpu-edge', '--data', join(dir, 'b'), '--json'], { encoding: 'utf8' });
      return r.status === 0 && JSON.parse(r.stdout).tip.height >= 3;
    });
    assert.match(String(readyB.api), /^http:\/\/127\.0\.0\.1:\d+$/);
  } finally {
    a.child.kill('SIGINT');
    b?.child.kill('SIGINT');
    assert.is(await a.exited, 0);
    if (b) assert.is(await b.exited, 0);
    assert.ok(a.events.some((e) => e.type === 'stopped'));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('status without a running node is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-cli-node-'));
  const r = spawnSync(process.execPath, [bin, 'node', 'status', '--sector', 'accel', '--data', dir, '--json'], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.is(JSON.parse(r.stdout).error.code, 'node-not-running');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
