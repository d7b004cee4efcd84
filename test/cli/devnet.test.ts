// `pouw devnet` as a real process (the edge in it, eight `pouw node start`
// children): a 20 s run exits 0 after a summary in which every sector grew,
// the edge holds headers of all four sectors, beacons were published and MAIN
// txs submitted, assigned, recorded in the drawn sectors' blocks and final,
// with the nodes taking their assignments; a
// second run on the same data resumes the chains instead of starting over.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN, cleanEnv, ROOT } from './procs.js';

const home = mkdtempSync(join(tmpdir(), 'pouw-devnet-'));
const data = join(home, 'run');
const SLUGS = ['gpu-hi', 'gpu-consumer', 'cpu-edge', 'accel'];

interface Run {
  code: number | null;
  events: any[];
  stderr: string;
}

/** Runs `pouw devnet --json --data <data> ...args` to its end (killed after `limitMs`). */
function devnet(args: string[], limitMs: number): Promise<Run> {
  const child = spawn(process.execPath, [BIN, 'devnet', '--json', '--data', data, ...args], { cwd: ROOT, env: cleanEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      const events = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      resolve({ code, events, stderr: err });
    });
  });
}

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

test('a 20 s devnet mines every sector, relays to the edge, publishes beacons and assigns MAIN txs, then stops cleanly', async () => {
  first = await devnet(['--duration', '20'], 90_000);
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
  assert.is(s.reason, 'duration');
  assert.ok(s.runMs >= 20_000);
  for (const sector of s.sectors) {
    assert.ok(sector.height > 0 && sector.blocks > 0, `${sector.sector} mined: ${JSON.stringify(sector)}`);
    assert.ok(sector.edgeHeight > 0, `the edge has headers of ${sector.sector}`);
    assert.ok(sector.hashesPerSecond > 0);
    assert.match(sector.bits, /^[0-9a-f]{8}$/);
  }
  assert.ok(s.beacons.publishedThisRun >= 1 && s.beacons.latest, JSON.stringify(s.beacons));
  assert.ok(s.main.submitted > 0, 'MAIN txs submitted');
  assert.ok(s.main.assigned > 0, `MAIN txs assigned: ${JSON.stringify(s.main)}`);
  // Drawn sectors' miners put the records in blocks, the nodes report them, and the edge counts them final.
  assert.ok(s.main.recorded > 0 && s.main.final > 0, `MAIN txs recorded and final: ${JSON.stringify(s.main)}`);
  for (const e of only(first, 'main-recorded')) assert.ok(e.records.length >= 2, JSON.stringify(e));
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
  db.close();
  assert.ok(records.n >= 2, `the edge holds MAIN records: ${records.n}`);
  assert.is(orphanRecords.n, 0);
  assert.equal(counts.map((c) => c.id), [1, 2, 3, 4]);
  assert.ok(counts.every((c) => c.n > 1), JSON.stringify(counts));
  // Every node has its own key for the edge, readable by its owner only.
  for (const slug of SLUGS) assert.is(statSync(join(data, 'nodes', `${slug}-1`, slug, 'node-key.json')).mode & 0o777, 0o600);
  assert.not.ok(existsSync(join(data, 'devnet.pid')));
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
