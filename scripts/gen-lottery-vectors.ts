/**
 * Writes test/vectors/lottery.json: regression vectors of the int8 matmul
 * lottery (stream, seeds, noise, tile states, tickets, winners, the recovered
 * product and Freivalds' check) from fixed inputs. Native and WASM kernels
 * must reproduce them; test/core/lottery.test.ts recomputes each one.
 * Regenerate only for a deliberate consensus change, and say so in the commit:
 *   npx tsx scripts/gen-lottery-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import { toHex, utf8ToBytes } from '../core/bytes.js';
import { freivalds } from '../core/freivalds.js';
import { sha256 } from '../core/hash.js';
import { headerWithoutNonce, type BlockHeader } from '../core/header.js';
import {
  commitColumns,
  commitRows,
  expand,
  expandRange,
  foldedDepth,
  noisyOperands,
  runLottery,
} from '../core/lottery.js';
import type { LotteryParams } from '../core/params.js';

const SOURCE = 'this project (regression vectors; the JS reference is the oracle)';
const h32 = (label: string) => sha256(utf8ToBytes(label));

/** A task matrix from a label: entry = (b mod 129) − 64 over expand(SHA-256(label), 'matrix', count). */
function matrixFromLabel(label: string, count: number): Int8Array {
  const bytes = expand(h32(label), 'matrix', count);
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[i]! % 129) - 64;
  return out;
}

const int8Hex = (M: Int8Array) => toHex(new Uint8Array(M.buffer, M.byteOffset, M.length));
const int32LE = (M: Int32Array) => {
  const out = new Uint8Array(4 * M.length);
  const v = new DataView(out.buffer);
  M.forEach((x, i) => v.setInt32(4 * i, x, true));
  return out;
};
const hex256 = (v: bigint) => v.toString(16).padStart(64, '0');

const header: BlockHeader = {
  version: 1,
  sectorId: 3,
  height: 42,
  prevHash: h32('lottery-vector/prev'),
  bodyRoot: h32('lottery-vector/body'),
  timeMs: 1_767_225_600_000,
  bits: 0x207fffff,
  workKind: 'matmul',
  nonce: 0n,
};
const headerNoNonce = headerWithoutNonce(header);

interface Case {
  name: string;
  m: number;
  k: number;
  n: number;
  config: LotteryParams;
  /** Fixed matrices instead of label-derived ones. */
  fill?: { a: number; b: number };
}

const cases: Case[] = [
  { name: 'square-32', m: 32, k: 32, n: 32, config: { rank: 8, tileRows: 8, tileCols: 8, macsPerHash: 1024n } },
  { name: 'wide-16x64x48', m: 16, k: 64, n: 48, config: { rank: 8, tileRows: 16, tileCols: 16, macsPerHash: 4096n } },
  { name: 'tail-16x70x32', m: 16, k: 70, n: 32, config: { rank: 8, tileRows: 8, tileCols: 16, macsPerHash: 1000n } },
  {
    name: 'extremes-rank2',
    m: 8,
    k: 16,
    n: 8,
    config: { rank: 2, tileRows: 4, tileCols: 4, macsPerHash: 256n },
    fill: { a: 64, b: -64 },
  },
];

const FREIVALDS_SEED = h32('lottery-vector/freivalds');
const FREIVALDS_ROUNDS = 4;

const vectors = cases.map((c) => {
  const { m, k, n, config } = c;
  const A = c.fill ? new Int8Array(m * k).fill(c.fill.a) : matrixFromLabel(`lottery-vector/${c.name}/A`, m * k);
  const B = c.fill ? new Int8Array(k * n).fill(c.fill.b) : matrixFromLabel(`lottery-vector/${c.name}/B`, k * n);
  const commitA = commitRows(A, m, k);
  const commitB = commitColumns(B, k, n);
  // An easy target: each tile's threshold is about 2^255, so about half the tiles win.
  const target = ((1n << 255n) * config.macsPerHash) / BigInt(config.tileRows * config.tileCols * foldedDepth(k, config.rank));
  const run = runLottery({ A, B, m, k, n, commitA, commitB, headerNoNonce, config, target, recover: true });
  const { AE, BF } = noisyOperands(A, B, m, k, n, config.rank, run.seeds);
  const product = run.product!;
  const tamperedAt = (m * n) >> 1;
  const tampered = product.slice();
  tampered[tamperedAt]! += 1;
  const states: number[][] = [];
  for (let t = 0; t < run.tickets.length; t++) states.push(Array.from(run.states.subarray(16 * t, 16 * t + 16)));
  return {
    name: c.name,
    m,
    k,
    n,
    config: { ...config, macsPerHash: config.macsPerHash.toString() },
    matrices: c.fill
      ? `A filled with ${c.fill.a}, B filled with ${c.fill.b}`
      : `A, B = matrixFromLabel('lottery-vector/${c.name}/A' | '/B')`,
    A: int8Hex(A),
    B: int8Hex(B),
    target: hex256(target),
    commitA: toHex(commitA),
    commitB: toHex(commitB),
    jobKey: toHex(run.seeds.jobKey),
    seedB: toHex(run.seeds.seedB),
    seedA: toHex(run.seeds.seedA),
    noisyASha256: toHex(sha256(new Uint8Array(AE.buffer))),
    noisyBSha256: toHex(sha256(new Uint8Array(BF.buffer))),
    threshold: hex256(run.threshold),
    states,
    tickets: run.tickets.map(toHex),
    winners: run.winners.map(({ ti, tj }) => ({ ti, tj })),
    macs: run.macs.toString(),
    productSha256: toHex(sha256(int32LE(product))),
    freivalds: {
      seed: toHex(FREIVALDS_SEED),
      rounds: FREIVALDS_ROUNDS,
      product: freivalds(A, B, product, m, k, n, FREIVALDS_SEED, FREIVALDS_ROUNDS),
      tamperedIndex: tamperedAt,
      tamperedDelta: 1,
      tampered: freivalds(A, B, tampered, m, k, n, FREIVALDS_SEED, FREIVALDS_ROUNDS),
    },
  };
});

const streamSeed = h32('lottery-vector/stream');
const streams = [
  { label: 'EL', offset: 0, count: 0 },
  { label: 'EL', offset: 0, count: 1 },
  { label: 'ER', offset: 0, count: 32 },
  { label: 'FL', offset: 0, count: 33 },
  { label: 'FR', offset: 0, count: 100 },
  { label: 'FR', offset: 31, count: 40 },
  { label: '', offset: 64, count: 32 },
].map((s) => ({ seed: toHex(streamSeed), ...s, hex: toHex(expandRange(streamSeed, s.label, s.offset, s.count)) }));

writeFileSync(
  new URL('../test/vectors/lottery.json', import.meta.url),
  JSON.stringify(
    {
      source: SOURCE,
      description:
        'int8 matmul lottery: expand streams, seeds, commitments, noisy-operand digests, tile states and tickets (row-major tile order), winners, SHA-256 of the recovered product AB (int32 little-endian, row-major) and Freivalds outcomes. Matrices are int8 two\'s-complement hex, row-major; targets and thresholds are 64-digit big-endian hex.',
      headerNoNonce: toHex(headerNoNonce),
      streams,
      vectors,
    },
    null,
    2,
  ) + '\n',
);
