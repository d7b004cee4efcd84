// `pouw devnet` as a real process (the edge in it, eight `pouw node start`
// children, all on 127.0.0.1): a run of a few minutes exits 0 after a summary
// in which every sector grew, the edge holds headers of all four sectors and
// beacons were published; the economy stream's conversions were witnessed by
// two sectors other than their origin and minted, its MAIN transfers recorded
// by two drawn sectors, final and applied; every node of every sector folded
// the same windows to the same roots as the edge, and holds the same
// balances; the sector chains settle the releases the folds owe them, and
// the public-sector account's recycled income becomes MAIN; a
// stale data directory is refused; a second run on the same data resumes the
// chains.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN, cleanEnv, ROOT } from './procs.js';
import { until } from '../wait.js';
import { writeNpy } from '../../cli/npy.js';
import { devnetSpec } from '../../core/params.js';

const home = mkdtempSync(join(tmpdir(), 'pouw-devnet-'));
const data = join(home, 'run');
const SLUGS = ['gpu-hi', 'gpu-consumer', 'cpu-edge', 'accel'];

interface Run {
  code: number | null;
  events: any[];
  stderr: string;
}

/** Starts `pouw devnet --json --data <data> ...args` (killed after `limitMs`): its events so far, and its end. */
function startDevnet(args: string[], limitMs: number): { events: () => any[]; done: Promise<Run>; stop: () => void } {
  const child = spawn(process.execPath, [BIN, 'devnet', '--json', '--data', data, ...args], { cwd: ROOT, env: cleanEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
  const events = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  const done = new Promise<Run>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, events: events(), stderr: err });
    });
  });
  return { events, done, stop: () => child.kill('SIGINT') };
}

function devnet(args: string[], limitMs: number): Promise<Run> {
  return startDevnet(args, limitMs).done;
}

/** `pouw ...args --json` against a devnet node's data directory, without blocking this process (the devnet's output keeps flowing). */
function pouw(args: string[], timeoutMs = 240_000): Promise<{ code: number | null; json: any; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args, '--json'], { cwd: ROOT, env: cleanEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      let json: any;
      try {
        json = JSON.parse(out);
      } catch {
        json = { unparsed: out };
      }
      resolve({ code, json, stderr: err });
    });
  });
}
const nodeData = (slug: string) => ['--data', join(data, 'nodes', `${slug}-1`), '--sector', slug];

const only = (r: Run, type: string) => r.events.filter((e) => e.type === type);
const one = (r: Run, type: string) => {
  const list = only(r, type);
  assert.is(list.length, 1, `one ${type} event`);
  return list[0];
};

/** Node processes a failed run may have left, by the pids in their node.json (only if that pid is still one of ours). */
function killLeftovers(): void {
  const nodes = join(data, 'nodes');
  if (!existsSync(nodes)) return;
  for (const n of readdirSync(nodes)) {
    for (const slug of SLUGS) {
      const info = join(nodes, n, slug, 'node.json');
      if (!existsSync(info)) continue;
      const pid = (JSON.parse(readFileSync(info, 'utf8')) as { pid: number }).pid;
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(data, 'nodes'))) process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already (or no /proc to tell).
      }
    }
  }
}

test.after(() => {
  killLeftovers();
  rmSync(home, { recursive: true, force: true });
});

let first: Run;
const walk: Record<string, { code: number | null; json: any; stderr: string }> = {};
const settled: Record<string, { owed: string; applied: string; heldBlocks: number } | undefined> = {};

test('a devnet mines every sector, mints conversions and applies MAIN transfers with the same roots on every node and at the edge; a newcomer walks the README through it; then it stops cleanly', async () => {
  const run = startDevnet(['--duration', '600', '--tx-interval', '1000'], 660_000);
  await until(() => run.events().some((e) => e.type === 'devnet-ready'), 120_000, 200);
  // The README's walk-through: a key, faucet tokens, a conversion, a MAIN transfer, the balance on two sectors' nodes, the audit.
  walk.key = await pouw(['keys', 'new', '--name', 'newcomer']);
  walk.friend = await pouw(['keys', 'new', '--name', 'friend']);
  walk.faucet = await pouw(['faucet', '--to', 'newcomer', '--amount', '500', ...nodeData('cpu-edge')]);
  await until(async () => {
    const r = await pouw(['account', 'show', 'newcomer', ...nodeData('cpu-edge')]);
    return r.code === 0 && BigInt(r.json.balance) > 0n;
  }, 60_000, 1000);
  walk.convert = await pouw(['convert', '--from', 'newcomer', '--amount', '400', '--wait', '200', ...nodeData('cpu-edge')]);
  walk.send = await pouw(['main', 'send', '--from', 'newcomer', '--to', 'friend', '--amount', '1', '--wait', '200', ...nodeData('gpu-hi')]);
  walk.balanceHi = await pouw(['main', 'balance', 'friend', ...nodeData('gpu-hi')]);
  walk.balanceAccel = await pouw(['main', 'balance', 'friend', ...nodeData('accel')]);
  walk.status = await pouw(['main', 'status', '--strict', ...nodeData('accel')]);
  walk.pool = await pouw(['pool', 'show', ...nodeData('gpu-hi')]);
  walk.treasury = await pouw(['treasury', 'show', ...nodeData('gpu-hi')]);
  walk.history = await pouw(['main', 'history', 'newcomer', ...nodeData('gpu-hi')]);
  // A compute task from the command line: the inputs as .npy files, the escrow from newcomer's MAIN.
  const { tileRows, tileCols, rank } = devnetSpec().sectors[1]!.lottery;
  const [tm, tk, tn] = [2 * tileRows, 2 * rank, 2 * tileCols];
  const npy = (name: string, rows: number, cols: number, seed: number) => {
    const path = join(home, name);
    writeFileSync(path, writeNpy({ rows, cols, data: Int8Array.from({ length: rows * cols }, (_, i) => ((i * seed) % 129) - 64) }));
    return path;
  };
  walk.taskBad = await pouw(['task', 'submit', '--from', 'newcomer', '--input', npy('bad.npy', tm + 1, tk, 3), '--input', npy('b.npy', tk, tn, 5), ...nodeData('gpu-consumer')]);
  walk.task = await pouw(['task', 'submit', '--from', 'newcomer', '--input', npy('a.npy', tm, tk, 3), '--input', join(home, 'b.npy'), '--max-price', '1', '--deadline', '600', ...nodeData('gpu-consumer')]);
  // The stream's own MAIN transfers: wait until one was applied on the nodes and the sector chains settled what the folds owe them.
  await until(() => run.events().some((e) => e.type === 'main-applied'), 180_000, 500);
  await until(() => run.events().some((e) => e.type === 'settlements-applied'), 120_000, 500);
  // Mining by doing: the stream's tasks become final, are scheduled, and some sector finds a block by useful work.
  await until(() => run.events().some((e) => e.type === 'task-final'), 240_000, 1000);
  walk.taskStatus = await pouw(['task', 'status', walk.task!.json.txid, ...nodeData('gpu-consumer')]);
  // The audit on a sector whose chain settled releases: every settlement on its chain is checked against the fold.
  for (const slug of SLUGS) {
    const shown = await pouw(['treasury', 'show', ...nodeData(slug)]);
    settled[slug] = shown.json.settlements;
  }
  const paid = SLUGS.find((slug) => Number(settled[slug]?.applied ?? 0) > 0) ?? 'gpu-consumer';
  walk.audit = await pouw(['treasury', 'audit', ...nodeData(paid)]);
  run.stop();
  first = await run.done;
  assert.is(first.code, 0, first.stderr);
  const start = one(first, 'devnet-start');
  assert.is(start.resumed, false);
  assert.equal(start.sectors, SLUGS);
  const ready = only(first, 'node-ready');
  assert.is(ready.length, 8);
  // The cpu-edge nodes mine on the WASM kernel, the others on the best one.
  const kernels = only(first, 'node-event').filter((e) => e.event.type === 'miner-start');
  assert.is(kernels.length, 8);
  for (const k of kernels) if (k.sector === 'cpu-edge') assert.is(k.event.backend, 'wasm');
  assert.ok(only(first, 'node-event').some((e) => e.event.type === 'edge-connection' && e.event.state === 'open'));

  const s = one(first, 'summary');
  assert.is(s.clean, true);
  assert.is(s.reason, 'SIGINT');
  assert.ok(s.runMs >= 20_000);
  for (const sector of s.sectors) {
    assert.ok(sector.height > 0 && sector.mined > 0, `${sector.sector} mined: ${JSON.stringify(sector)}`);
    assert.ok(sector.edgeHeight > 0, `the edge has headers of ${sector.sector}`);
    assert.ok(sector.hashesPerSecond > 0);
    assert.match(sector.bits, /^[0-9a-f]{8}$/);
  }
  assert.ok(s.beacons.publishedThisRun >= 1 && s.beacons.latest, JSON.stringify(s.beacons));
  // Conversions: witnessed by two sectors other than their origin, then minted once their window was decided.
  assert.ok(s.conversions.submitted > 0 && s.conversions.witnessed > 0 && s.conversions.minted > 0, JSON.stringify(s.conversions));
  const origins = new Map(only(first, 'conversion-submitted').map((e) => [e.txid, e.sector]));
  for (const e of only(first, 'conversion-witnessed')) {
    assert.is(e.counted.length, 2, JSON.stringify(e));
    const origin = SLUGS.indexOf(origins.get(e.txid)) + 1;
    assert.not.ok(e.counted.includes(origin), 'no sector witnesses its own conversion');
  }
  // MAIN transfers from the minted balances: recorded by two drawn sectors, final, applied on the nodes.
  assert.ok(s.main.submitted > 0 && s.main.final > 0 && s.main.applied > 0, JSON.stringify(s.main));
  assert.is(s.main.void, 0);
  for (const e of only(first, 'main-final')) if (e.counted) assert.is(e.counted.length, 2);
  assert.ok(s.accounts.some((a: any) => BigInt(a.main) > 0n), JSON.stringify(s.accounts));
  // Tasks: submitted by the stream, final, scheduled to a node of their sector; blocks found by useful work, none refused for their work or task.
  assert.ok(s.tasks.submitted > 0 && s.tasks.final > 0, JSON.stringify(s.tasks));
  for (const e of only(first, 'task-final')) assert.is(e.assigned.length, 1, JSON.stringify(e));
  for (const sector of s.sectors) assert.ok(Number.isInteger(sector.blocks.hash) && Number.isInteger(sector.blocks.matmul), JSON.stringify(sector));
  const refusedWork = only(first, 'node-event').filter((e) => e.event.type === 'block-rejected' && /^(matmul-|lottery-|bad-work-proof)/.test(String(e.event.code)));
  assert.equal(refusedWork, [], 'no node refused a block for its work or its task');
  // Mandatory recycling: the public-sector account's income, locked at each epoch's end, was witnessed and minted.
  const publicSector = s.accounts.find((a: any) => a.name === 'devnet-public-sector');
  assert.ok(publicSector && BigInt(publicSector.main) > 0n, `recycled MAIN: ${JSON.stringify(publicSector)}`);
  // Each reading node agrees with the edge's root for its last window (or waits for the edge to publish it); none differs.
  assert.equal([s.roots.nodes, s.roots.agree + s.roots.pending, s.roots.mismatches], [4, 4, 0], JSON.stringify(s.roots));
  assert.ok(s.roots.agree >= 1);
  // Releases the folds owe (fee shares to recording miners, refunds) were credited on the sector chains, never more than owed.
  assert.ok(s.settlements.applied >= 1 && s.settlements.applied <= s.settlements.owed, JSON.stringify(s.settlements));
  assert.ok(only(first, 'node-event').every((e) => e.event.type !== 'block-rejected' || e.event.code !== 'bad-settlement'), 'no node refused a settlement');
  assert.ok(s.assignments.accepted > 0, 'nodes took assignments');
  assert.is(s.assignments.rejected, 0);
  assert.ok(s.nodes.every((n: any) => n.exitCode === 0));
  assert.ok(only(first, 'status').length >= 15, 'a status event a second');

  // The edge's own store: headers of every sector.
  const db = new Database(join(data, 'edge', 'edge.db'), { readonly: true });
  const counts = db.prepare('SELECT sector_id AS id, count(*) AS n FROM headers GROUP BY sector_id ORDER BY sector_id').all() as { id: number; n: number }[];
  // Every record the edge kept sits in a block of its tree.
  const orphanRecords = db.prepare('SELECT count(*) AS n FROM records r LEFT JOIN headers h ON h.id = r.block_id WHERE h.id IS NULL').get() as { n: number };
  const records = db.prepare("SELECT count(*) AS n FROM records WHERE kind = 'main'").get() as { n: number };
  const witnesses = db.prepare("SELECT count(*) AS n FROM records WHERE kind = 'witness'").get() as { n: number };
  const edgeRoots = new Map((db.prepare('SELECT window_no AS w, hex(root) AS root FROM main_windows').all() as { w: number; root: string }[]).map((r) => [r.w, r.root]));
  db.close();
  assert.ok(records.n >= 2 && witnesses.n >= 2, `the edge holds MAIN and witness records: ${records.n}, ${witnesses.n}`);
  // Every node of every sector folded the windows itself: each window it folded has the edge's root.
  let compared = 0;
  for (const slug of SLUGS) {
    for (const i of [1, 2]) {
      const ndb = new Database(join(data, 'nodes', `${slug}-${i}`, slug, 'chain.db'), { readonly: true });
      const rows = ndb.prepare('SELECT window_no AS w, hex(root) AS root FROM main_windows').all() as { w: number; root: string }[];
      ndb.close();
      assert.ok(rows.length > 0, `${slug}-${i} folded windows`);
      for (const r of rows) {
        if (!edgeRoots.has(r.w)) continue;
        assert.is(r.root, edgeRoots.get(r.w), `${slug}-${i} window ${r.w}`);
        compared++;
      }
    }
  }
  assert.ok(compared >= 8, `roots compared: ${compared}`);
  assert.is(orphanRecords.n, 0);
  assert.equal(counts.map((c) => c.id), [1, 2, 3, 4]);
  assert.ok(counts.every((c) => c.n > 1), JSON.stringify(counts));
  // Every node has its own key for the edge, readable by its owner only.
  for (const slug of SLUGS) assert.is(statSync(join(data, 'nodes', `${slug}-1`, slug, 'node-key.json')).mode & 0o777, 0o600);
  assert.not.ok(existsSync(join(data, 'devnet.pid')));
});

test('the walk-through: faucet, convert, MAIN send, the same balance on two sectors, the audit', () => {
  for (const [step, r] of Object.entries(walk)) if (step !== 'taskBad') assert.is(r.code, 0, `${step}: ${JSON.stringify(r.json)} ${r.stderr}`);
  assert.is(walk.convert!.json.status, 'minted', JSON.stringify(walk.convert!.json));
  assert.ok(BigInt(walk.convert!.json.minted) > 0n);
  assert.is(walk.send!.json.status, 'applied', JSON.stringify(walk.send!.json));
  // A task whose shape the sector's lottery cannot run is refused before anything is uploaded or paid; a good one is taken.
  assert.equal([walk.taskBad!.code, walk.taskBad!.json.error.code], [1, 'bad-task'], JSON.stringify(walk.taskBad!.json));
  assert.is(walk.task!.code, 0, walk.task!.stderr);
  assert.match(walk.task!.json.txid, /^[0-9a-f]{64}$/);
  assert.is(walk.taskStatus!.code, 0, walk.taskStatus!.stderr);
  assert.ok(['pending', 'open'].includes(walk.taskStatus!.json.state), JSON.stringify(walk.taskStatus!.json));
  assert.is(walk.balanceHi!.json.balance, '100000000', 'friend holds 1 MAIN on a gpu-hi node');
  assert.is(walk.balanceAccel!.json.balance, walk.balanceHi!.json.balance, 'and the same on an accel node');
  assert.equal([walk.status!.json.ok, walk.status!.json.mismatches], [true, 0]);
  assert.ok(walk.pool!.json.pools.some((p: any) => p.sectorId === 3 && p.lastBatch), JSON.stringify(walk.pool!.json));
  assert.ok(BigInt(walk.treasury!.json.treasury.balance) > 0n, 'the treasury holds the tolls');
  assert.ok(walk.audit!.json.ok && walk.audit!.json.windows > 0, JSON.stringify(walk.audit!.json));
  assert.ok(walk.audit!.json.settlements >= 1, `the audited chain holds settlements: ${JSON.stringify(settled)}`);
  const kinds = walk.history!.json.entries.map((e: any) => `${e.kind}:${e.direction}`);
  assert.ok(kinds.includes('conversion:in') && kinds.includes('main:out'), JSON.stringify(kinds));
});

test('a devnet directory of another protocol version is refused with a clear error, nothing in it touched', async () => {
  const stale = join(home, 'stale');
  const file = join(stale, 'devnet.json');
  mkdirSync(stale, { recursive: true });
  const state = JSON.stringify({ version: 1, network: 'devnet', genesisTimeMs: 1_700_000_000_000, networkId: '00'.repeat(32) });
  writeFileSync(file, state);
  const child = spawn(process.execPath, [BIN, 'devnet', '--json', '--data', stale, '--duration', '2'], { cwd: ROOT, env: cleanEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.is(code, 1, out);
  assert.match(out, /devnet-state-stale/);
  assert.is(readFileSync(file, 'utf8'), state);
  assert.equal(readdirSync(stale).sort(), ['devnet.json']);
});

test('a second run on the same data resumes every chain', async () => {
  const second = await devnet(['--duration', '4'], 60_000);
  assert.is(second.code, 0, second.stderr);
  const start = one(second, 'devnet-start');
  assert.is(start.resumed, true);
  assert.is(start.genesisTimeMs, one(first, 'devnet-start').genesisTimeMs);
  const before = new Map<string, number>(one(first, 'summary').sectors.map((s: any) => [s.sector, s.height as number]));
  const ready = only(second, 'node-ready');
  for (const slug of SLUGS) {
    const resumedAt = Math.max(...ready.filter((e) => e.sector === slug).map((e) => e.height as number));
    assert.ok(resumedAt > 0 && resumedAt >= before.get(slug)! - 2, `${slug} resumed at ${resumedAt}, had ${before.get(slug)}`);
  }
  const s = one(second, 'summary');
  assert.is(s.clean, true);
  for (const sector of s.sectors) assert.ok(sector.height >= before.get(sector.sector)!, `${sector.sector} did not go back`);
});

test.run();
