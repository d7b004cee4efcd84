/**
 * `pouw bench`: kernel throughput per backend, each figure beside a reference
 * measured in the same run, after checking that the backend reproduces the
 * stored checksum of a fixed workload (correct, not only fast).
 *
 * Progress goes to stderr (a bar on a terminal, lines otherwise); the table or
 * the `--json` object goes to stdout. Exit 1 when a backend fails its checksum.
 * @module
 */
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import { BACKEND_ORDER, type BackendName } from '../core/kernel.js';
import { PouwError } from '../core/errors.js';
import { devnetSpec, findSector } from '../core/params.js';
import { runBench, type BenchReport } from '../bench/kernels.js';
import { packageInfo } from '../platform/node/package-info.js';
import { addJsonOption, intArg, type JsonOpts } from './options.js';
import { formatTable, Output } from './output.js';

interface BenchOpts extends JsonOpts {
  backend: BackendName[];
  sector?: string;
  threads: number;
  seconds: number;
}

function parseBackends(value: string): BackendName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!BACKEND_ORDER.includes(n as BackendName)) throw new InvalidArgumentError(`unknown backend "${n}" (known: ${BACKEND_ORDER.join(', ')})`);
  }
  return [...new Set(names)] as BackendName[];
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!(n >= 0.05 && n <= 60)) throw new InvalidArgumentError('must be within 0.05..60 seconds');
  return n;
}

const rate = (hps: number) => (hps >= 1e6 ? `${(hps / 1e6).toFixed(2)} MH/s` : `${(hps / 1e3).toFixed(1)} kH/s`);

export function formatReport(r: BenchReport): string {
  const held = (f: { vsPeak?: number; peakUnit?: string }) => (f.vsPeak ? `${(100 * f.vsPeak).toFixed(0)}% of ${f.peakUnit}` : '-');
  const lines = [
    `machine: ${r.machine.cpu}, ${r.machine.cores} threads, node ${r.machine.node}, ${r.machine.platform}`,
    `references (1 thread, same run): node:crypto SHA-256d ${rate(r.references.opensslSha256dHps)} (one call per hash); ` +
      `OpenSSL bulk SHA-256 as midstate SHA-256d ${rate(r.references.opensslBulkSha256dHps)}`,
    '',
    'SHA-256d nonce search (104-byte header, 8-byte nonce; the same work in every sector)',
  ];
  const sha: string[][] = [['backend', 'impl', '1 thread', 'vs node:crypto', 'vs OpenSSL bulk', 'threads', 'all threads', 'scaling', 'checksum']];
  const gemm: string[][] = [['backend', 'int8 impl', 'size', 'G mult-adds/s', 'of its peak', 'f32 impl', 'GFLOP/s']];
  for (const b of r.backends) {
    if (!b.available) {
      sha.push([b.backend, `not available: ${b.reason}`]);
      continue;
    }
    if (!b.checksum!.ok) {
      sha.push([b.backend, `WRONG RESULTS: checksum ${b.checksum!.got.slice(0, 16)}… ≠ ${b.checksum!.want.slice(0, 16)}…`]);
      continue;
    }
    const s = b.sha256d!;
    sha.push([
      b.backend,
      s.impl,
      rate(s.oneThreadHps),
      `${s.vsOpenssl.toFixed(2)}×`,
      `${s.vsOpensslBulk.toFixed(2)}×`,
      String(s.threads),
      rate(s.allThreadsHps),
      `${s.scaling.toFixed(2)}×`,
      'ok',
    ]);
    if (b.gemmI8 && b.gemmF32) {
      gemm.push([
        b.backend,
        b.gemmI8.impl,
        `${b.gemmI8.size}³`,
        (b.gemmI8.macsPerSecond / 1e9).toFixed(1),
        held(b.gemmI8),
        b.gemmF32.impl,
        ((2 * b.gemmF32.macsPerSecond) / 1e9).toFixed(1),
      ]);
    }
  }
  const peak: string[][] = [['backend', 'unit', 'sequence', 'G mult-adds/s', '']];
  for (const b of r.backends) {
    for (const p of b.peaksI8 ?? []) {
      for (const q of p.sequences) {
        peak.push([b.backend, p.unit, q.sequence, (q.macsPerSecond / 1e9).toFixed(1), q.sequence === p.sequence ? 'peak' : '']);
      }
    }
  }
  const lot: string[][] = [['backend', 'sector', 'impl', 'm=n × k', 'rank', 'tile', 'G mult-adds/s', 'of its peak', 'plain GEMM', 'overhead']];
  for (const b of r.backends) {
    for (const l of b.lottery ?? []) {
      lot.push([
        b.backend,
        l.sector,
        l.impl,
        `${l.size}×${l.depth}`,
        String(l.rank),
        l.tile,
        (l.macsPerSecond / 1e9).toFixed(1),
        held(l),
        `${(l.plainMacsPerSecond / 1e9).toFixed(1)} G`,
        `${l.overhead.toFixed(2)}×`,
      ]);
    }
  }
  lines.push(
    formatTable(sha, '  '),
    '',
    "int8 multiply-add ceiling per kernel unit, 1 thread (each unit's fastest instruction sequence, operands in registers; a kernel's share of it is 'of its peak')",
    peak.length > 1 ? formatTable(peak, '  ') : '  no probe for this CPU',
    '',
    'GEMM, 1 thread (int8 exact; G = 10^9 multiply-adds/s, twice that in GOP/s)',
    formatTable(gemm, '  '),
    '',
    "int8 matmul lottery per sector's parameters, 1 thread, tickets included (rate counts the m·n·k′ folded multiply-adds; overhead = lottery time / plain int8 GEMM time, same backend and operands)",
    formatTable(lot, '  '),
  );
  return lines.join('\n');
}

export function registerBenchCommand(program: Command): void {
  addJsonOption(
    program
      .command('bench')
      .description('measure kernel throughput per backend against references run side by side, after a correctness checksum')
      .option('--backend <list>', `comma-separated backends (default: ${BACKEND_ORDER.join(',')})`, parseBackends, [...BACKEND_ORDER])
      .option('--sector <id>', 'sector whose work parameters to use (default: all)')
      .option('--threads <n>', 'threads for the multi-thread figures', intArg('threads', 1, 1024), availableParallelism())
      .option('--seconds <s>', 'duration of each timed measurement', parseSeconds, 1),
  ).action(async (opts: BenchOpts) => {
    const out = new Output(Boolean(opts.json));
    if (opts.sector !== undefined && !findSector(devnetSpec(), opts.sector)) {
      throw new PouwError('usage', `unknown sector "${opts.sector}" (known: ${devnetSpec().sectors.map((s) => s.slug).join(', ')})`);
    }
    const tty = process.stderr.isTTY === true && !opts.json;
    const bar = tty ? new SingleBar({ format: 'bench [{bar}] {value}/{total} {label}', hideCursor: true, clearOnComplete: true }) : undefined;
    let started = false;
    const spec = devnetSpec();
    const sectors = opts.sector === undefined ? spec.sectors : [findSector(spec, opts.sector)!];
    const report = await runBench({
      root: packageInfo().root,
      backends: opts.backend,
      sectors,
      threads: opts.threads,
      seconds: opts.seconds,
      onProgress: (done, total, label) => {
        if (bar) {
          if (!started) bar.start(total, 0, { label });
          started = true;
          bar.update(done, { label });
        } else if (!opts.json) {
          out.log(`bench: [${done}/${total}] ${label}`);
        }
      },
    });
    bar?.stop();
    if (out.json) out.resultJson(report);
    else out.result(formatReport(report));
    if (report.backends.some((b) => b.checksum && !b.checksum.ok)) {
      throw new PouwError('bench-wrong-results', 'a backend did not reproduce the reference checksum');
    }
  });
}
