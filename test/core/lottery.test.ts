import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { bytesToBigIntLE, concatBytes, fromHex, toHex, utf8ToBytes } from '../../core/bytes.js';
import { TAGS, sha256, taggedHash } from '../../core/hash.js';
import { headerWithoutNonce, type BlockHeader } from '../../core/header.js';
import { inclusionProof, merkleRoot, verifyLeaf } from '../../core/merkle.js';
import type { LotteryParams } from '../../core/params.js';
import { MAX_UINT256 } from '../../core/target.js';
import {
  commitColumns,
  commitRows,
  encodeLotteryConfig,
  expand,
  expandRange,
  lotteryDimsProblem,
  lotterySeeds,
  lotterySeedsForHeader,
  matrixLeaf,
  noiseE,
  noiseF,
  noisyOperands,
  openColumns,
  openRows,
  openTile,
  runLottery,
  tileState,
  ticketThreshold,
  ticketWins,
  verifyTile,
  type RunLotteryInput,
} from '../../core/lottery.js';

const vec = JSON.parse(readFileSync(new URL('../vectors/lottery.json', import.meta.url), 'utf8'));

// ---------------------------------------------------------------------------
// Helpers: a literal, dense re-reading of the spec, independent of the module's loops.

const h32 = (label: string) => sha256(utf8ToBytes(label));
const u32 = (...xs: number[]) => {
  const b = new Uint8Array(4 * xs.length);
  xs.forEach((x, i) => new DataView(b.buffer).setUint32(4 * i, x, true));
  return b;
};

function matrix(label: string, count: number): Int8Array {
  const bytes = expand(h32(label), 'matrix', count);
  return Int8Array.from(bytes, (b) => (b % 129) - 64);
}

const header: BlockHeader = {
  version: 1,
  sectorId: 3,
  height: 7,
  prevHash: h32('prev'),
  bodyRoot: h32('body'),
  timeMs: 1_700_000_000_000,
  bits: 0x207fffff,
  workKind: 'matmul',
  nonce: 99n,
};
const headerNoNonce = headerWithoutNonce(header);

/** Dense int matrices as arrays of rows. */
type Dense = number[][];
const zeros = (r: number, c: number): Dense => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const mul = (X: Dense, Y: Dense): Dense => {
  const out = zeros(X.length, Y[0]!.length);
  for (let i = 0; i < X.length; i++) for (let t = 0; t < Y.length; t++) for (let j = 0; j < Y[0]!.length; j++) out[i]![j]! += X[i]![t]! * Y[t]![j]!;
  return out;
};
const dense = (M: ArrayLike<number>, r: number, c: number): Dense =>
  Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => M[i * c + j]!));

function pairsOf(bytes: Uint8Array, t: number, r: number): [number, number] {
  const u = bytes[4 * t]! + 256 * bytes[4 * t + 1]!;
  const v = bytes[4 * t + 2]! + 256 * bytes[4 * t + 3]!;
  const a = u % r;
  return [a, (a + 1 + (v % (r - 1))) % r];
}

/** The spec, step by step, with dense E_L, E_R, F_L, F_R. */
function literalLottery(A: Int8Array, B: Int8Array, m: number, k: number, n: number, cfg: LotteryParams, commitA: Uint8Array, commitB: Uint8Array) {
  const { rank: r, tileRows: h, tileCols: w } = cfg;
  const cfgBytes = concatBytes(u32(r, h, w), (() => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, cfg.macsPerHash, true);
    return b;
  })());
  const jobKey = taggedHash('pouw/lottery-job', headerNoNonce, cfgBytes);
  const seedB = taggedHash('pouw/lottery-seed-b', jobKey, commitB, u32(n));
  const seedA = taggedHash('pouw/lottery-seed-a', seedB, commitA, u32(m));
  const elb = expand(seedA, 'EL', m * r);
  const EL = zeros(m, r).map((row, i) => row.map((_, c) => (elb[i * r + c]! & 63) - 32));
  const erb = expand(seedA, 'ER', 4 * k);
  const ER = zeros(r, k);
  for (let t = 0; t < k; t++) {
    const [a, b] = pairsOf(erb, t, r);
    ER[a]![t] = 1;
    ER[b]![t] = -1;
  }
  const flb = expand(seedB, 'FL', 4 * k);
  const FL = zeros(k, r);
  for (let t = 0; t < k; t++) {
    const [a, b] = pairsOf(flb, t, r);
    FL[t]![a] = 1;
    FL[t]![b] = -1;
  }
  const frb = expand(seedB, 'FR', n * r);
  const FR = zeros(r, n).map((row, c) => row.map((_, j) => (frb[j * r + c]! & 63) - 32));
  const E = mul(EL, ER);
  const F = mul(FL, FR);
  const AE = dense(A, m, k).map((row, i) => row.map((x, t) => x + E[i]![t]!));
  const BF = dense(B, k, n).map((row, t) => row.map((x, j) => x + F[t]![j]!));
  const acc = zeros(m, n);
  const tiles = (m / h) * (n / w);
  const states = Array.from({ length: tiles }, () => new Array<number>(16).fill(0));
  const kp = k - (k % r);
  for (let s = 0; s < kp / r; s++) {
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = s * r; t < s * r + r; t++) acc[i]![j]! += AE[i]![t]! * BF[t]![j]!;
    for (let ti = 0; ti < m / h; ti++) {
      for (let tj = 0; tj < n / w; tj++) {
        const st = states[ti * (n / w) + tj]!;
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) st[(i * w + j) % 16] = (st[(i * w + j) % 16]! ^ acc[ti * h + i]![tj * w + j]!) >>> 0;
        for (let x = 0; x < 16; x++) st[x] = ((st[x]! << 13) | (st[x]! >>> 19)) >>> 0;
        st[s % 16] = (st[s % 16]! + s + 1) % 2 ** 32;
      }
    }
  }
  const tickets = states.map((st, idx) => {
    const ti = Math.floor(idx / (n / w));
    const tj = idx % (n / w);
    return taggedHash('pouw/lottery-ticket', seedA, u32(ti, tj, ...st));
  });
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = kp; t < k; t++) acc[i]![j]! += AE[i]![t]! * BF[t]![j]!;
  return { jobKey, seedB, seedA, E, F, AE, BF, Cprime: acc, states, tickets };
}

function plainProduct(A: Int8Array, B: Int8Array, m: number, k: number, n: number): Int32Array {
  const out = new Int32Array(m * n);
  for (let i = 0; i < m; i++) for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) out[i * n + j] += A[i * k + t]! * B[t * n + j]!;
  return out;
}

function task(m: number, k: number, n: number, config: LotteryParams, label = 'task', target = MAX_UINT256 >> 2n): RunLotteryInput {
  const A = matrix(`${label}/A`, m * k);
  const B = matrix(`${label}/B`, k * n);
  return { A, B, m, k, n, config, commitA: commitRows(A, m, k), commitB: commitColumns(B, k, n), headerNoNonce, target };
}

const shapeArb = fc
  .record({
    r: fc.integer({ min: 2, max: 6 }),
    h: fc.integer({ min: 1, max: 4 }),
    w: fc.integer({ min: 1, max: 4 }),
    tm: fc.integer({ min: 1, max: 3 }),
    tn: fc.integer({ min: 1, max: 3 }),
    extraK: fc.integer({ min: 0, max: 13 }),
    label: fc.string({ maxLength: 6 }),
  })
  .map(({ r, h, w, tm, tn, extraK, label }) => ({
    m: h * tm,
    n: w * tn,
    k: r + extraK,
    config: { rank: r, tileRows: h, tileCols: w, macsPerHash: 64n },
    label,
  }));

// ---------------------------------------------------------------------------
// Stream

test('expand: SHA-256 counter blocks, concatenated and truncated', () => {
  const seed = h32('seed');
  const out = expand(seed, 'EL', 70);
  const block = (i: number) => {
    const ctr = new Uint8Array(8);
    new DataView(ctr.buffer).setBigUint64(0, BigInt(i), true);
    return sha256(concatBytes(seed, utf8ToBytes('EL'), ctr));
  };
  assert.is(toHex(out), toHex(concatBytes(block(0), block(1), block(2)).subarray(0, 70)));
  assert.is(expand(seed, 'EL', 0).length, 0);
  assert.is.not(toHex(expand(seed, 'ER', 32)), toHex(expand(seed, 'EL', 32)));
  assert.throws(() => expand(new Uint8Array(31), 'EL', 1), RangeError);
  assert.throws(() => expand(seed, 'EL', -1), RangeError);
});

test('expand: prefixes agree and ranges are slices of the stream', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.string({ maxLength: 8 }),
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 0, max: 200 }),
      (seed, label, offset, count) => {
        const whole = expand(seed, label, offset + count);
        assert.is(toHex(expandRange(seed, label, offset, count)), toHex(whole.subarray(offset)));
        assert.is(toHex(expand(seed, label, offset)), toHex(whole.subarray(0, offset)));
      },
    ),
    { numRuns: 100 },
  );
});

// ---------------------------------------------------------------------------
// Seeds

test('seeds: tagged hashes over the documented byte layouts', () => {
  const config = { rank: 32, tileRows: 16, tileCols: 8, macsPerHash: 0x0102030405060708n };
  assert.is(toHex(encodeLotteryConfig(config)), '20000000' + '10000000' + '08000000' + '0807060504030201');
  const commitA = h32('A');
  const commitB = h32('B');
  const s = lotterySeeds({ headerNoNonce, config, commitA, commitB, m: 64, n: 0x01020304 });
  const jobKey = taggedHash('pouw/lottery-job', headerNoNonce, encodeLotteryConfig(config));
  assert.is(toHex(s.jobKey), toHex(jobKey));
  assert.is(toHex(s.seedB), toHex(taggedHash('pouw/lottery-seed-b', jobKey, commitB, fromHex('04030201'))));
  assert.is(toHex(s.seedA), toHex(taggedHash('pouw/lottery-seed-a', s.seedB, commitA, fromHex('40000000'))));
  assert.equal([TAGS.lotteryJob, TAGS.lotterySeedB, TAGS.lotterySeedA, TAGS.lotteryTicket], ['pouw/lottery-job', 'pouw/lottery-seed-b', 'pouw/lottery-seed-a', 'pouw/lottery-ticket']);
  // The header convenience zeroes the nonce; raw bytes with a nonce are refused.
  assert.equal(lotterySeedsForHeader(header, { config, commitA, commitB, m: 64, n: 0x01020304 }), s);
  const withNonce = headerNoNonce.slice();
  withNonce[103] = 1;
  assert.throws(() => lotterySeeds({ headerNoNonce: withNonce, config, commitA, commitB, m: 64, n: 1 }), RangeError);
  assert.throws(() => lotterySeeds({ headerNoNonce: headerNoNonce.subarray(0, 103), config, commitA, commitB, m: 64, n: 1 }), RangeError);
  // Every input moves every seed it feeds.
  const other = lotterySeeds({ headerNoNonce, config, commitA, commitB: h32('B2'), m: 64, n: 0x01020304 });
  assert.is(toHex(other.jobKey), toHex(s.jobKey));
  assert.is.not(toHex(other.seedB), toHex(s.seedB));
  assert.is.not(toHex(other.seedA), toHex(s.seedA));
  const otherM = lotterySeeds({ headerNoNonce, config, commitA, commitB, m: 65, n: 0x01020304 });
  assert.is(toHex(otherM.seedB), toHex(s.seedB));
  assert.is.not(toHex(otherM.seedA), toHex(s.seedA));
  const otherCfg = lotterySeeds({ headerNoNonce, config: { ...config, macsPerHash: 1n }, commitA, commitB, m: 64, n: 0x01020304 });
  assert.is.not(toHex(otherCfg.jobKey), toHex(s.jobKey));
});

// ---------------------------------------------------------------------------
// Noise

test('noise: entries in range, pairs distinct, A+E and B+F in [−127, 127]', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 2, max: 300 }), fc.integer({ min: 1, max: 5 }), (seed, r, rows) => {
      const k = r + 40;
      for (const noise of [noiseE(seed, k, r, 0, rows), noiseF(seed, k, r, 3, rows)]) {
        assert.ok(noise.dense.every((x) => x >= -32 && x <= 31));
        for (let t = 0; t < k; t++) {
          const p = noise.plus[t]!;
          const q = noise.minus[t]!;
          assert.ok(p !== q && p >= 0 && q >= 0 && p < r && q < r);
        }
      }
    }),
    { numRuns: 60 },
  );
  const t = task(8, 24, 8, { rank: 3, tileRows: 4, tileCols: 4, macsPerHash: 1n });
  const extreme = { A: new Int8Array(8 * 24).fill(64), B: new Int8Array(24 * 8).fill(-64) };
  for (const [A, B] of [
    [t.A, t.B],
    [extreme.A, extreme.B],
  ] as const) {
    const { AE, BF } = noisyOperands(A, B, 8, 24, 8, 3, lotterySeeds(t));
    for (let x = 0; x < AE.length; x++) assert.ok(Math.abs(AE[x]! - A[x]!) <= 63);
    for (let x = 0; x < BF.length; x++) assert.ok(Math.abs(BF[x]! - B[x]!) <= 63);
  }
});

test('noise: a partial window equals the same rows of the full noise', () => {
  const seed = h32('window');
  const full = noiseE(seed, 50, 7, 0, 20);
  const part = noiseE(seed, 50, 7, 5, 4);
  assert.equal(Array.from(part.dense), Array.from(full.dense.subarray(5 * 7, 9 * 7)));
  assert.equal(Array.from(part.plus), Array.from(full.plus));
});

// ---------------------------------------------------------------------------
// The lottery

test('runLottery matches a literal dense reading of the spec', () => {
  fc.assert(
    fc.property(shapeArb, ({ m, k, n, config, label }) => {
      const t = task(m, k, n, config, label);
      const run = runLottery({ ...t, recover: true });
      const lit = literalLottery(t.A, t.B, m, k, n, config, t.commitA, t.commitB);
      assert.is(toHex(run.seeds.seedA), toHex(lit.seedA));
      assert.is(toHex(run.seeds.seedB), toHex(lit.seedB));
      const { AE, BF } = noisyOperands(t.A, t.B, m, k, n, config.rank, run.seeds);
      assert.equal(dense(AE, m, k), lit.AE);
      assert.equal(dense(BF, k, n), lit.BF);
      assert.equal(dense(run.states, run.tickets.length, 16), lit.states);
      assert.equal(run.tickets.map(toHex), lit.tickets.map(toHex));
      assert.equal(Array.from(run.product!), Array.from(plainProduct(t.A, t.B, m, k, n)));
    }),
    { numRuns: 40 },
  );
});

test('exact recovery: AB = (A+E)(B+F) − (A·F_L)·F_R − E_L·(E_R·(B+F))', () => {
  fc.assert(
    fc.property(shapeArb, ({ m, k, n, config, label }) => {
      const t = task(m * 3, k * 4, n * 2, { ...config, tileRows: config.tileRows * 3, tileCols: config.tileCols * 2 }, label);
      const run = runLottery({ ...t, recover: true });
      assert.equal(Array.from(run.product!), Array.from(plainProduct(t.A, t.B, t.m, t.k, t.n)));
    }),
    { numRuns: 30 },
  );
  // Extreme entries, rank 2 and 3, a k that is not a multiple of the rank.
  for (const [a, b, r] of [
    [64, -64, 2],
    [-64, -64, 3],
    [64, 64, 5],
  ] as const) {
    const m = 6;
    const k = 47;
    const n = 4;
    const A = new Int8Array(m * k).fill(a);
    const B = new Int8Array(k * n).fill(b);
    const run = runLottery({
      A, B, m, k, n, headerNoNonce, target: 0n, recover: true,
      commitA: commitRows(A, m, k), commitB: commitColumns(B, k, n),
      config: { rank: r, tileRows: 3, tileCols: 2, macsPerHash: 1n },
    });
    assert.ok(run.product!.every((x) => x === a * b * k));
  }
});

test('exact recovery at the largest k (2^16): int32 sums hold', () => {
  const k = 65536;
  const A = new Int8Array(2 * k).fill(64);
  const B = matrix('big-k/B', k * 2).map((x) => (x >= 0 ? 64 : -64));
  const run = runLottery({
    A, B, m: 2, k, n: 2, headerNoNonce, target: MAX_UINT256, recover: true,
    commitA: commitRows(A, 2, k), commitB: commitColumns(B, k, 2),
    config: { rank: 64, tileRows: 1, tileCols: 1, macsPerHash: 1n },
  });
  assert.equal(Array.from(run.product!), Array.from(plainProduct(A, B, 2, k, 2)));
  assert.is(run.winners.length, 4);
});

test('threshold: target · h·w·k′ / macsPerHash, floored and capped; winners are the tickets at or below it', () => {
  const config = { rank: 8, tileRows: 4, tileCols: 2, macsPerHash: 3n };
  assert.is(ticketThreshold(1000n, config, 21), (1000n * 4n * 2n * 16n) / 3n);
  assert.is(ticketThreshold(MAX_UINT256, config, 21), MAX_UINT256);
  assert.is(ticketThreshold(0n, config, 21), 0n);
  assert.throws(() => ticketThreshold(MAX_UINT256 + 1n, config, 21), RangeError);
  assert.throws(() => ticketThreshold(1n, { ...config, macsPerHash: 0n }, 21), RangeError);
  const t = task(8, 21, 8, config, 'thr', (1n << 250n) * 3n / 128n);
  const run = runLottery(t);
  assert.is(run.threshold, ticketThreshold(t.target, config, 21));
  assert.is(run.macs, 8n * 8n * 16n);
  const expected = run.tickets
    .map((ticket, x) => ({ ti: Math.floor(x / 4), tj: x % 4, ticket }))
    .filter((w) => bytesToBigIntLE(w.ticket) <= run.threshold);
  assert.equal(run.winners, expected);
  for (const w of run.winners) assert.ok(ticketWins(w.ticket, run.threshold));
  assert.is(runLottery({ ...t, target: 0n }).winners.length, 0);
  assert.is(runLottery({ ...t, target: MAX_UINT256 }).winners.length, run.tickets.length);
});

test('every slice boundary matters; columns past k′ do not', () => {
  const h = 2;
  const w = 3;
  const k = 20;
  const AE = matrix('slices/AE', h * k);
  const BFT = matrix('slices/BFT', w * k);
  const base = Array.from(tileState(AE, BFT, h, w, k, 4));
  // Columns 16..19 lie past k′ = 16 for rank 8 and are not folded.
  const AE2 = AE.slice();
  AE2[k - 1] = AE2[k - 1]! + 1;
  assert.equal(Array.from(tileState(AE2, BFT, h, w, k, 8)), Array.from(tileState(AE, BFT, h, w, k, 8)));
  assert.is.not(Array.from(tileState(AE2, BFT, h, w, k, 4)).join(), base.join());
  // The same products cut at other boundaries fold differently.
  assert.is.not(Array.from(tileState(AE, BFT, h, w, k, 5)).join(), base.join());
  // Zero operands still leave a state that depends on the slice count.
  const z = (len: number) => new Int8Array(len);
  assert.is.not(Array.from(tileState(z(h * k), z(w * k), h, w, k, 4)).join(), Array.from(tileState(z(h * k), z(w * k), h, w, k, 5)).join());
});

test('input validation', () => {
  const config = { rank: 4, tileRows: 2, tileCols: 2, macsPerHash: 1n };
  const t = task(4, 8, 4, config);
  assert.is(lotteryDimsProblem(4, 8, 4, config), null);
  const bad = t.A.slice();
  bad[3] = 65;
  assert.throws(() => runLottery({ ...t, A: bad }), RangeError);
  const badB = t.B.slice();
  badB[0] = -65;
  assert.throws(() => runLottery({ ...t, B: badB }), RangeError);
  assert.throws(() => runLottery({ ...t, m: 3, A: t.A.subarray(0, 24) }), RangeError); // m not a multiple of tileRows
  assert.throws(() => runLottery({ ...t, config: { ...config, tileCols: 3 } }), RangeError); // n not a multiple
  assert.throws(() => runLottery({ ...t, config: { ...config, rank: 1 } }), RangeError);
  assert.throws(() => runLottery({ ...t, config: { ...config, rank: 9 } }), RangeError); // k < rank
  assert.throws(() => runLottery({ ...t, A: t.A.subarray(1) }), RangeError);
  assert.throws(() => runLottery({ ...t, A: new Uint8Array(32) as unknown as Int8Array }), TypeError);
  assert.ok(lotteryDimsProblem(1, 65537, 1, { ...config, tileRows: 1, tileCols: 1 })?.includes('65536'));
  assert.ok(lotteryDimsProblem(4, 8, 4, { ...config, macsPerHash: 0n })?.includes('macsPerHash'));
});

// ---------------------------------------------------------------------------
// Commitments and openings

test('commitments: merkle roots over row (and column) leaves; openings verify and match inclusionProof', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 9 }), fc.string({ maxLength: 4 }), (rows, cols, label) => {
      const M = matrix(`commit/${label}`, rows * cols);
      const rowLeaves = Array.from({ length: rows }, (_, i) => matrixLeaf(i, M.subarray(i * cols, (i + 1) * cols)));
      assert.is(toHex(commitRows(M, rows, cols)), toHex(merkleRoot(rowLeaves)));
      assert.is(toHex(rowLeaves[0]!.subarray(0, 8)), toHex(u32(0, cols)));
      const T = new Int8Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = M[i * cols + j]!;
      const root = commitColumns(M, rows, cols);
      assert.is(toHex(root), toHex(commitRows(T, cols, rows)));
      const indices = Array.from({ length: cols }, (_, j) => j);
      const open = openColumns(M, rows, cols, indices);
      assert.equal(Array.from(open.lines), Array.from(T));
      const colLeaves = indices.map((j) => matrixLeaf(j, T.subarray(j * rows, (j + 1) * rows)));
      for (const j of indices) {
        assert.equal(open.proofs[j]!.map(toHex), inclusionProof(colLeaves, j).map(toHex));
        assert.ok(verifyLeaf(colLeaves[j]!, j, cols, open.proofs[j]!, root));
      }
      const ro = openRows(M, rows, cols, [rows - 1, 0]);
      assert.equal(ro.proofs.map((p) => p.map(toHex)), [inclusionProof(rowLeaves, rows - 1).map(toHex), inclusionProof(rowLeaves, 0).map(toHex)]);
    }),
    { numRuns: 60 },
  );
  assert.throws(() => openRows(new Int8Array(4), 2, 2, [2]), RangeError);
});

test('verifyTile recomputes every tile ticket and accepts the winners', () => {
  const config = { rank: 8, tileRows: 8, tileCols: 4, macsPerHash: 1000n };
  const t = task(24, 45, 16, config, 'verify', (1n << 254n) * 1000n / (8n * 4n * 40n));
  const run = runLottery(t);
  assert.ok(run.winners.length > 0 && run.winners.length < run.tickets.length);
  for (let x = 0; x < run.tickets.length; x++) {
    const ti = Math.floor(x / 4);
    const tj = x % 4;
    const opening = openTile({ ...t, ti, tj });
    const r = verifyTile({ ...opening, ...t, target: MAX_UINT256 });
    assert.ok(r.ok);
    if (r.ok) assert.is(toHex(r.value.ticket), toHex(run.tickets[x]!));
    const real = verifyTile({ ...opening, ...t });
    const wins = run.winners.some((w) => w.ti === ti && w.tj === tj);
    assert.is(real.ok ? 'ok' : real.code, wins ? 'ok' : 'lottery-high-ticket');
  }
});

test('verifyTile rejects tampered openings, wrong tiles, bad shapes and bad entries', () => {
  const config = { rank: 4, tileRows: 4, tileCols: 4, macsPerHash: 1n };
  const t = task(8, 16, 8, config, 'tamper', MAX_UINT256);
  const opening = openTile({ ...t, ti: 1, tj: 0 });
  const check = (o: typeof opening, extra: Partial<typeof t> = {}) => {
    const r = verifyTile({ ...o, ...t, ...extra });
    return r.ok ? 'ok' : r.code;
  };
  assert.is(check(opening), 'ok');
  // One byte of a row changed, proof kept.
  const rowsOfA = opening.rowsOfA.slice();
  rowsOfA[5] = rowsOfA[5] === 0 ? 1 : 0;
  assert.is(check({ ...opening, rowsOfA }), 'lottery-bad-opening');
  const colsOfB = opening.colsOfB.slice();
  colsOfB[colsOfB.length - 1] = -colsOfB[colsOfB.length - 1]! || 1;
  assert.is(check({ ...opening, colsOfB }), 'lottery-bad-opening');
  // A flipped proof byte, swapped proofs, the opening presented as another tile.
  const proofsA = opening.proofsA.map((p) => p.map((x) => x.slice()));
  proofsA[2]![0]![0]! ^= 1;
  assert.is(check({ ...opening, proofsA }), 'lottery-bad-opening');
  assert.is(check({ ...opening, proofsB: [...opening.proofsB].reverse() }), 'lottery-bad-opening');
  assert.is(check({ ...opening, ti: 0 }), 'lottery-bad-opening');
  // Shapes.
  assert.is(check({ ...opening, ti: 2 }), 'lottery-bad-dims');
  assert.is(check({ ...opening, rowsOfA: opening.rowsOfA.subarray(1) }), 'lottery-bad-dims');
  assert.is(check({ ...opening, proofsB: opening.proofsB.slice(1) }), 'lottery-bad-dims');
  assert.is(check(opening, { k: 65537 }), 'lottery-bad-dims');
  assert.is(check(opening, { config: { ...config, tileRows: 3 } }), 'lottery-bad-dims');
  // A hard target.
  assert.is(check(opening, { target: 0n }), 'lottery-high-ticket');
  // A committed task entry outside [−64, 64] can open but never win.
  const A = t.A.slice();
  A[4 * 16] = 100;
  const commitA = commitRows(A, 8, 16);
  const wide = openTile({ ...t, A, ti: 1, tj: 0 });
  assert.is(check(wide, { commitA }), 'lottery-bad-entry');
});

// ---------------------------------------------------------------------------
// Vectors

test('lottery vectors', () => {
  assert.is(vec.source, 'this project (regression vectors; the JS reference is the oracle)');
  for (const s of vec.streams) {
    assert.is(toHex(expandRange(fromHex(s.seed), s.label, s.offset, s.count)), s.hex);
  }
  const hdr = fromHex(vec.headerNoNonce);
  for (const v of vec.vectors) {
    const { m, k, n } = v;
    const config = { ...v.config, macsPerHash: BigInt(v.config.macsPerHash) };
    const A = new Int8Array(fromHex(v.A).buffer);
    const B = new Int8Array(fromHex(v.B).buffer);
    if (!v.matrices.startsWith('A filled')) {
      assert.equal(Array.from(A), Array.from(matrix(`lottery-vector/${v.name}/A`, m * k)), v.name);
      assert.equal(Array.from(B), Array.from(matrix(`lottery-vector/${v.name}/B`, k * n)), v.name);
    }
    const commitA = commitRows(A, m, k);
    const commitB = commitColumns(B, k, n);
    assert.is(toHex(commitA), v.commitA);
    assert.is(toHex(commitB), v.commitB);
    const target = BigInt('0x' + v.target);
    const run = runLottery({ A, B, m, k, n, commitA, commitB, headerNoNonce: hdr, config, target, recover: true });
    assert.is(toHex(run.seeds.jobKey), v.jobKey);
    assert.is(toHex(run.seeds.seedB), v.seedB);
    assert.is(toHex(run.seeds.seedA), v.seedA);
    const { AE, BF } = noisyOperands(A, B, m, k, n, config.rank, run.seeds);
    assert.is(toHex(sha256(new Uint8Array(AE.buffer))), v.noisyASha256);
    assert.is(toHex(sha256(new Uint8Array(BF.buffer))), v.noisyBSha256);
    assert.is(run.threshold.toString(16).padStart(64, '0'), v.threshold);
    assert.equal(dense(run.states, run.tickets.length, 16), v.states);
    assert.equal(run.tickets.map(toHex), v.tickets);
    assert.equal(run.winners.map(({ ti, tj }) => ({ ti, tj })), v.winners);
    assert.is(run.macs.toString(), v.macs);
    const bytes = new Uint8Array(4 * m * n);
    run.product!.forEach((x, i) => new DataView(bytes.buffer).setInt32(4 * i, x, true));
    assert.is(toHex(sha256(bytes)), v.productSha256);
    for (const w of v.winners) {
      const r = verifyTile({ ...openTile({ A, B, m, k, n, config, ...w }), commitA, commitB, m, k, n, config, headerNoNonce: hdr, target });
      assert.ok(r.ok, `${v.name} winner ${w.ti},${w.tj}`);
    }
  }
});

test.run();
