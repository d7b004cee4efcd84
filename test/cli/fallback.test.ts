// A drawn sector goes offline, with real processes: `pouw devnet --nodes 1`
// (the edge and one `pouw node start` per sector, all on 127.0.0.1); as soon
// as the edge assigns the economy stream's first MAIN transfer, the nodes of
// both its primary sectors are stopped (SIGSTOP). After the primaries'
// deadline the edge pushes the tx to the fallbacks of the draw, which record
// it, and it becomes final with them; a stopped primary's record never counts.
// Resumed (SIGCONT), the stopped sectors' chains move again, the window is
// decided, and the tx is applied on the nodes; the devnet stops cleanly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cleanEnv, ROOT } from './procs.js';
import { until } from '../wait.js';

const home = mkdtempSync(join(tmpdir(), 'pouw-fallback-'));
const data = join(home, 'run');
const SLUGS = ['gpu-hi', 'gpu-consumer', 'cpu-edge', 'accel'];
const stopped = new Set<number>();

const pidOf = (slug: string): number => (JSON.parse(readFileSync(join(data, 'nodes', `${slug}-1`, slug, 'node.json'), 'utf8')) as { pid: number }).pid;

test.after(() => {
  // Never leave a stopped node behind.
  for (const pid of stopped) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  rmSync(home, { recursive: true, force: true });
});

test("a drawn sector whose nodes go offline is replaced by the next of the order; the tx is final with the fallback and applied once the chains move again", async () => {
  const child = spawn(process.execPath, [BIN, 'devnet', '--json', '--data', data, '--nodes', '1', '--duration', '900', '--tx-interval', '1000'], {
    cwd: ROOT,
    env: cleanEnv(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const events = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
  const edgeGet = async (path: string) => {
    const edge = events().find((e) => e.type === 'devnet-start')!.edge as string;
    const res = await fetch(edge + path, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? ((await res.json()) as Record<string, any>) : undefined;
  };
  try {
    await until(() => events().some((e) => e.type === 'devnet-ready'), 120_000, 200);
    // The stream's first MAIN transfer, followed at the edge until its draw is published.
    await until(() => events().some((e) => e.type === 'main-submitted'), 300_000, 200);
    const txid = events().find((e) => e.type === 'main-submitted')!.txid as string;
    let assigned: Record<string, any> | undefined;
    await until(async () => {
      const s = await edgeGet(`/v1/main/tx/${txid}`).catch(() => undefined);
      if (s?.status === 'assigned' || s?.status === 'final') assigned = s;
      return assigned !== undefined;
    }, 120_000, 100);
    const primaries = assigned!.assigned as number[];
    const fallbacks = assigned!.fallback as number[];
    // Both primaries go offline at once (a record that got out before this still counts: then one fallback is enough).
    for (const id of primaries) {
      const pid = pidOf(SLUGS[id - 1]!);
      process.kill(pid, 'SIGSTOP');
      stopped.add(pid);
    }
    const early = ((assigned!.counted as number[]) ?? []).filter((s) => primaries.includes(s));
    // After w + fallbackWindows the edge pushes the tx to the fallbacks, whose records make it final.
    let final: Record<string, any> | undefined;
    await until(async () => {
      const s = await edgeGet(`/v1/main/tx/${txid}`).catch(() => undefined);
      if (s?.status === 'final') final = s;
      return final !== undefined;
    }, 240_000, 500);
    const counted = final!.counted as number[];
    assert.is(counted.length, 2, JSON.stringify(final));
    assert.ok(counted.some((s) => fallbacks.includes(s)), `a fallback counts: ${JSON.stringify({ counted, primaries, fallbacks })}`);
    assert.ok(counted.every((s) => fallbacks.includes(s) || early.includes(s)), 'an offline primary counts only with a record it wrote before it stopped');
    assert.ok((final!.fallbackSent as number[]).length >= 1, 'the edge pushed the tx to the fallbacks');
    // Back online: the stopped chains move, the window is decided, the tx is applied on the nodes.
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    stopped.clear();
    await until(() => events().some((e) => e.type === 'main-applied' && e.txid === txid), 300_000, 500);
    const decided = await edgeGet(`/v1/main/tx/${txid}`);
    assert.equal([decided?.status, decided?.decided], ['final', true]);
    assert.equal([...(decided!.counted as number[])].sort(), [...counted].sort(), "the decision is the edge's early answer");
  } finally {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    stopped.clear();
    child.kill('SIGINT');
  }
  const code = await closed;
  assert.is(code, 0, err);
  const summary = events().find((e) => e.type === 'summary')!;
  assert.is(summary.clean, true);
  assert.is(summary.roots.mismatches, 0);
  assert.not.ok(existsSync(join(data, 'devnet.pid')));
});

test.run();
