import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { nextBitsAsert, nextTargetAsert, type AsertInput } from '../../core/asert.js';
import { bitsToTarget, targetToBits } from '../../core/target.js';

interface Run {
  name: string;
  description: string;
  anchorHeight: string;
  anchorParentTime: string;
  anchorBits: string;
  iterations: number;
  vectors: [string, string, string][];
}
interface Vectors {
  params: { targetSpacing: number; halfLife: number; powLimit: string };
  vectorCount: number;
  runs: Run[];
}

const V = JSON.parse(readFileSync(new URL('../vectors/asert.json', import.meta.url), 'utf8')) as Vectors;
const POW_LIMIT = BigInt(V.params.powLimit);
const u32 = (hex: string): number => Number.parseInt(hex, 16);
const hex = (bits: number): string => '0x' + bits.toString(16).padStart(8, '0');

test('published aserti3-2d vectors (runs 1-10, every iteration)', () => {
  assert.is(V.runs.length, 10);
  let checked = 0;
  for (const run of V.runs) {
    assert.is(run.vectors.length, run.iterations, run.name);
    for (const [height, time, expected] of run.vectors) {
      const got = nextBitsAsert({
        anchorHeight: BigInt(run.anchorHeight),
        anchorParentTime: BigInt(run.anchorParentTime),
        anchorBits: u32(run.anchorBits),
        height: BigInt(height),
        time: BigInt(time),
        targetSpacing: V.params.targetSpacing,
        halfLife: V.params.halfLife,
        powLimit: POW_LIMIT,
      });
      assert.is(hex(got), expected, `${run.name} height ${height} time ${time}`);
      checked++;
    }
  }
  assert.is(checked, V.vectorCount);
  assert.is(checked, 3000);
});

test('number and bigint inputs agree', () => {
  const base: AsertInput = {
    anchorHeight: 1,
    anchorParentTime: 0,
    anchorBits: 0x1802aee8,
    height: 9,
    time: 7099,
    targetSpacing: 600,
    halfLife: 172800,
    powLimit: POW_LIMIT,
  };
  const big: AsertInput = { ...base, anchorHeight: 1n, anchorParentTime: 0n, height: 9n, time: 7099n, targetSpacing: 600n, halfLife: 172800n };
  assert.is(nextBitsAsert(base), nextBitsAsert(big));
  assert.is(hex(nextBitsAsert(base)), '0x1802b39c'); // run 6, iteration 8
});

test('units scale: milliseconds with ms spacing and half-life give the same bits as seconds', () => {
  // Times that are whole seconds, scaled by 1000, leave the exponent unchanged
  // (the factor 1000 cancels in the truncating division).
  for (const run of V.runs.slice(0, 8)) {
    for (const [height, time, expected] of run.vectors.filter((_, i) => i % 7 === 0)) {
      const got = nextBitsAsert({
        anchorHeight: BigInt(run.anchorHeight),
        anchorParentTime: BigInt(run.anchorParentTime) * 1000n,
        anchorBits: u32(run.anchorBits),
        height: BigInt(height),
        time: BigInt(time) * 1000n,
        targetSpacing: V.params.targetSpacing * 1000,
        halfLife: V.params.halfLife * 1000,
        powLimit: POW_LIMIT,
      });
      assert.is(hex(got), expected, `${run.name} height ${height} in ms`);
    }
  }
});

test('extreme schedules clamp to [1, powLimit] without huge shifts', () => {
  const input = (time: bigint): AsertInput => ({
    anchorHeight: 1,
    anchorParentTime: 0,
    anchorBits: 0x1802aee8,
    height: 2,
    time,
    targetSpacing: 600,
    halfLife: 172800,
    powLimit: POW_LIMIT,
  });
  assert.is(nextTargetAsert(input(10n ** 30n)), POW_LIMIT);
  assert.is(nextBitsAsert(input(10n ** 30n)), 0x1d00ffff);
  assert.is(nextTargetAsert(input(-(10n ** 30n))), 1n);
  assert.is(nextBitsAsert(input(-(10n ** 30n))), targetToBits(1n));
});

test('preconditions are programmer errors', () => {
  const ok: AsertInput = {
    anchorHeight: 10,
    anchorParentTime: 0,
    anchorBits: 0x1d00ffff,
    height: 10,
    time: 600,
    targetSpacing: 600,
    halfLife: 172800,
    powLimit: POW_LIMIT,
  };
  assert.type(nextBitsAsert(ok), 'number');
  assert.throws(() => nextBitsAsert({ ...ok, height: 9 }), RangeError); // evaluation block below anchor
  assert.throws(() => nextBitsAsert({ ...ok, anchorBits: 0x1d01ffff }), RangeError); // above powLimit
  assert.throws(() => nextBitsAsert({ ...ok, anchorBits: 0 }), RangeError); // zero target
  assert.throws(() => nextBitsAsert({ ...ok, anchorBits: 0x04923456 }), RangeError); // negative
  assert.throws(() => nextBitsAsert({ ...ok, halfLife: 0 }), RangeError);
  assert.throws(() => nextBitsAsert({ ...ok, targetSpacing: -600 }), RangeError);
  assert.throws(() => nextBitsAsert({ ...ok, time: 1.5 }), TypeError);
  assert.throws(() => nextBitsAsert({ ...ok, time: 2 ** 60 }), RangeError); // unsafe number: pass a bigint
  assert.throws(() => nextBitsAsert({ ...ok, powLimit: 0n }), RangeError);
  assert.throws(() => nextBitsAsert({ ...ok, powLimit: 5 as unknown as bigint }), TypeError);
});

// Inputs around a devnet-like configuration in milliseconds, plus the
// published anchors; powLimit varies so the clamp is exercised.
const arbInput = fc
  .record({
    anchorHeight: fc.bigInt({ min: 0n, max: 1n << 40n }),
    heightDelta: fc.bigInt({ min: 0n, max: 1n << 32n }),
    anchorParentTime: fc.bigInt({ min: 0n, max: 1n << 45n }),
    timeOffset: fc.bigInt({ min: -(1n << 50n), max: 1n << 50n }),
    targetSpacing: fc.bigInt({ min: 1n, max: 600_000n }),
    halfLifeBlocks: fc.bigInt({ min: 1n, max: 2000n }),
    powLimitBits: fc.constantFrom(0x1d00ffff, 0x207fffff, 0x1f00ffff, 0x1e0fffff),
    anchorFraction: fc.bigInt({ min: 1n, max: 1n << 64n }),
  })
  .map((r) => {
    const pl = bitsToTarget(r.powLimitBits);
    if (!pl.ok) throw new Error('bad powLimit bits');
    const powLimit = pl.value;
    const anchorTarget = (powLimit * r.anchorFraction) >> 64n || 1n;
    const anchorBits = targetToBits(anchorTarget);
    return {
      anchorHeight: r.anchorHeight,
      anchorParentTime: r.anchorParentTime,
      anchorBits: bitsToTarget(anchorBits).ok ? anchorBits : 0x01010000,
      height: r.anchorHeight + r.heightDelta,
      time: r.anchorParentTime + r.timeOffset,
      targetSpacing: r.targetSpacing,
      halfLife: r.targetSpacing * r.halfLifeBlocks,
      powLimit,
    } satisfies AsertInput;
  });

test('property: the result never exceeds powLimit and is at least 1', () => {
  fc.assert(
    fc.property(arbInput, (input) => {
      const target = nextTargetAsert(input);
      const bits = nextBitsAsert(input);
      const decoded = bitsToTarget(bits);
      return target >= 1n && target <= input.powLimit && decoded.ok && decoded.value <= input.powLimit;
    }),
    { numRuns: 2000 },
  );
});

test('property: for a fixed height, later times never give a harder target', () => {
  fc.assert(
    fc.property(arbInput, fc.bigInt({ min: 0n, max: 1n << 40n }), (input, later) => {
      const a = nextTargetAsert(input);
      const b = nextTargetAsert({ ...input, time: (input.time as bigint) + later });
      const bitsA = bitsToTarget(nextBitsAsert(input));
      const bitsB = bitsToTarget(nextBitsAsert({ ...input, time: (input.time as bigint) + later }));
      return a <= b && bitsA.ok && bitsB.ok && bitsA.value <= bitsB.value;
    }),
    { numRuns: 2000 },
  );
});

test('property: exactly on schedule the target equals the anchor target', () => {
  fc.assert(
    fc.property(arbInput, (input) => {
      const spacing = input.targetSpacing as bigint;
      const delta = (input.height as bigint) - (input.anchorHeight as bigint);
      const onSchedule = { ...input, time: (input.anchorParentTime as bigint) + spacing * (delta + 1n) };
      const anchor = bitsToTarget(input.anchorBits);
      return anchor.ok && nextTargetAsert(onSchedule) === anchor.value;
    }),
    { numRuns: 1000 },
  );
});

test.run();
