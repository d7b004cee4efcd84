/**
 * Mining by doing, measured side by side in one process for every kernel
 * backend that loads here (native, WASM): the node's real mining loop
 * (node/miner.ts `mineBatch` with a task — matmul templates, seeds, the
 * lottery kernel, the speed samples) on a task's operands, against the same
 * backend's plain int8 GEMM on the same operands, with the lottery kernel
 * called alone in between. The overhead is plain multiply-adds per second
 * over the loop's; kernel/loop is what the loop adds around the kernel.
 *
 * The node is a real SectorNode on a SQLite file under the OS temp dir, of a
 * devnet sector whose genesis target is far too hard for any tile to win, so
 * every batch runs to its end; the miner's pool is the backend on the
 * calling thread (one thread), as `pouw node start --threads 1` mines.
 *
 *   npm run bench:pouw [-- --seconds 5 --m 256 --k 1024 --n 256 --json]
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { addressOf, keyPairFromSeed } from '../core/keys.js';
import type { KernelBackend } from '../core/kernel.js';
import { commitColumns, commitRows } from '../core/lottery.js';
import { devnetSpec, type NetworkSpec } from '../core/params.js';
import { freshResults, type TaskEscrow } from '../core/task.js';
import { Miner } from '../node/miner.js';
import { SectorNode } from '../node/sector-node.js';
import { directPool } from '../platform/node/kernel-pool.js';
import { backendCandidates } from '../platform/node/kernels.js';
import { packageInfo } from '../platform/node/package-info.js';

interface Args {
  seconds: number;
  m: number;
  k: number;
  n: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 5, m: 256, k: 1024, n: 256, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--json') {
      a.json = true;
      continue;
    }
    const key = flag.replace(/^--/, '') as keyof Args;
    const v = Number(argv[++i]);
    if (!['seconds', 'm', 'k', 'n'].includes(key) || !Number.isFinite(v) || v <= 0) throw new Error(`usage: bench:pouw [--seconds S] [--m M] [--k K] [--n N] [--json] (bad ${flag})`);
    (a as unknown as Record<string, number>)[key] = v;
  }
  return a;
}

const matrix = (len: number, seed: number) => Int8Array.from({ length: len }, (_, i) => ((i * seed + 7) % 129) - 64);

interface Row {
  backend: string;
  lottery: string;
  dims: string;
  /** Multiply-adds per second of the plain GEMM, of the lottery kernel called alone, and of the mining loop. */
  gemmMacsPerS: number;
  kernelMacsPerS: number;
  loopMacsPerS: number;
  /** Plain GEMM over the mining loop: the figure the issue bounds. */
  overhead: number;
  /** The lottery kernel over the mining loop: what the loop adds around the kernel. */
  loopOverKernel: number;
  runs: number;
}

async function measure(backend: KernelBackend, spec: NetworkSpec, args: Args, dir: string): Promise<Row> {
  const sector = spec.sectors[0]!;
  const { m, k, n } = args;
  const A = matrix(m * k, 3);
  const B = matrix(k * n, 5);
  const dims = { m, k, n };
  const macs = m * k * n;
  // The plain GEMM, warmed, then timed.
  await backend.gemmI8(A, B, dims);
  let calls = 0;
  let t0 = performance.now();
  while (performance.now() - t0 < args.seconds * 1000) {
    await backend.gemmI8(A, B, dims);
    calls++;
  }
  const gemmMacsPerS = (calls * macs) / ((performance.now() - t0) / 1000);
  // The lottery kernel alone on the same operands (fixed seeds, a threshold nothing meets).
  const job = { A, B, m, k, n, config: spec.sectors[0]!.lottery, seedA: new Uint8Array(32).fill(1), seedB: new Uint8Array(32).fill(2), threshold: 0n, threads: 1 };
  await backend.lottery(job);
  calls = 0;
  t0 = performance.now();
  while (performance.now() - t0 < args.seconds * 1000) {
    await backend.lottery(job);
    calls++;
  }
  const kernelMacsPerS = (calls * macs) / ((performance.now() - t0) / 1000);
  // The mining loop on a real node.
  const node = new SectorNode({ spec, sector, dbPath: join(dir, `${backend.name}.db`), verifyThreads: 0 });
  await node.start();
  const task: TaskEscrow = {
    id: '11'.repeat(32),
    submitter: new Uint8Array(20),
    sector: sector.id,
    work: 'gemm-i8',
    m,
    k,
    n,
    commitA: commitRows(A, m, k),
    commitB: commitColumns(B, k, n),
    redundancy: 1,
    escrow: 1n,
    deadline: Number.MAX_SAFE_INTEGER,
    window: 0,
    status: 'open',
    ...freshResults(),
  };
  const miner = new Miner(node, directPool(backend, 1), { miner: addressOf(keyPairFromSeed(new Uint8Array(32).fill(1)).publicKey), task: () => ({ task, A, B }) });
  await miner.mineBatch();
  const before = miner.matmulStats.runs;
  t0 = performance.now();
  while (performance.now() - t0 < args.seconds * 1000) {
    const found = await miner.mineBatch();
    if (found) throw new Error('a tile won: the benchmark target must be too hard to win');
  }
  const runs = miner.matmulStats.runs - before;
  const loopMacsPerS = (runs * macs) / ((performance.now() - t0) / 1000);
  await node.stop();
  return {
    backend: backend.name,
    lottery: backend.capabilities.lottery,
    dims: `${m}×${k}×${n}`,
    gemmMacsPerS,
    kernelMacsPerS,
    loopMacsPerS,
    overhead: gemmMacsPerS / loopMacsPerS,
    loopOverKernel: kernelMacsPerS / loopMacsPerS,
    runs,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const base = devnetSpec(Date.now() - 60_000);
  // A genesis target no tile can meet in a benchmark's time (the limit stays the devnet's).
  const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: 0x1a00ffff })) };
  const dir = mkdtempSync(join(tmpdir(), 'pouw-bench-pouw-'));
  const rows: Row[] = [];
  try {
    for (const c of backendCandidates(packageInfo().root).filter((x) => x.name !== 'js')) {
      let backend: KernelBackend;
      try {
        backend = await c.load();
      } catch (e) {
        if (!args.json) console.error(`${c.name}: not loaded (${(e as Error).message})`);
        continue;
      }
      rows.push(await measure(backend, spec, args, dir));
      await backend.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  if (args.json) {
    console.log(JSON.stringify({ cpu, seconds: args.seconds, rows }));
    return;
  }
  console.log(`mining by doing vs plain int8 GEMM, ${cpu}, ${args.seconds} s each, one thread`);
  console.log('backend  lottery        dims              plain GEMM      lottery kernel  mining loop      runs  GEMM/loop  kernel/loop');
  const g = (v: number) => `${(v / 1e9).toFixed(2).padStart(7)} GMAC/s`;
  for (const r of rows) {
    console.log(`${r.backend.padEnd(8)} ${r.lottery.padEnd(14)} ${r.dims.padEnd(17)} ${g(r.gemmMacsPerS)}  ${g(r.kernelMacsPerS)}  ${g(r.loopMacsPerS)} ${String(r.runs).padStart(6)}  ${r.overhead.toFixed(3)}×     ${r.loopOverKernel.toFixed(3)}×`);
  }
}

await main();
