import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fromHex } from '../../core/bytes.js';
import { log2Fixed, selectSectors, selectionDraw, selectionKey, type SelectInput } from '../../core/select.js';

const vec = JSON.parse(readFileSync(new URL('../vectors/selection.json', import.meta.url), 'utf8'));

test('selection vectors', () => {
  for (const v of vec.vectors) {
    const r = selectSectors({ ...v, beacon: fromHex(v.beacon), txid: fromHex(v.txid) });
    assert.ok(r.ok);
    if (r.ok) {
      assert.equal(r.value.order, v.order);
      assert.equal(r.value.primary, v.primary);
    }
  }
});

test('log2Fixed matches exact powers of two and brackets the true value', () => {
  for (let n = 0n; n < 70n; n++) assert.is(log2Fixed(1n << n), n << 32n);
  for (const x of [3n, 10n, 12345n, 999_999_937n, (1n << 64n) - 1n]) {
    const got = Number(log2Fixed(x)) / 2 ** 32;
    assert.ok(Math.abs(got - Math.log2(Number(x))) < 1e-8, `log2(${x}) = ${got}`);
  }
  assert.throws(() => log2Fixed(0n), RangeError);
});

test('keys: a larger draw never has a larger key', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 2n }), (x) => selectionKey(x + 1n) <= selectionKey(x)),
    { numRuns: 300 },
  );
  assert.is(selectionKey((1n << 64n) - 1n), 0n);
});

const sectorsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 })
  .chain((ids) => fc.tuple(fc.constant(ids), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: ids.length, maxLength: ids.length })))
  .map(([ids, ws]) => ids.map((id, i) => ({ id, weight: ws[i]! })));

test('never picks the origin, never repeats, deterministic, primary + fallback = order', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      sectorsArb,
      fc.option(fc.integer({ min: 1, max: 40 }), { nil: null }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom('record' as const, 'witness' as const),
      (beacon, txid, sectors, origin, count, purpose) => {
        const input: SelectInput = { purpose, beacon, txid, origin, sectors, count };
        const r = selectSectors(input);
        const eligible = sectors.filter((s) => s.id !== origin && s.weight > 0).map((s) => s.id);
        if (eligible.length < count) {
          assert.is(r.ok ? 'ok' : r.code, 'select-too-few-sectors');
          return;
        }
        assert.ok(r.ok);
        if (!r.ok) return;
        const { order, primary, fallback } = r.value;
        assert.not.ok(order.includes(origin as number));
        assert.is(new Set(order).size, order.length);
        assert.equal([...order].sort((a, b) => a - b), [...eligible].sort((a, b) => a - b));
        assert.equal([...primary, ...fallback], order);
        assert.is(primary.length, count);
        const again = selectSectors({ ...input, sectors: [...sectors].reverse() });
        assert.equal(again.ok && again.value.order, order);
      },
    ),
    { numRuns: 300 },
  );
});

test('purposes draw independently, and the draw depends on every input', () => {
  const b = new Uint8Array(32).fill(1);
  const t = new Uint8Array(32).fill(2);
  const base = selectionDraw('record', b, t, 1);
  assert.is.not(selectionDraw('witness', b, t, 1), base);
  assert.is.not(selectionDraw('record', new Uint8Array(32), t, 1), base);
  assert.is.not(selectionDraw('record', b, new Uint8Array(32), 1), base);
  assert.is.not(selectionDraw('record', b, t, 2), base);
});

test('frequency of first place follows the weights (Efraimidis–Spirakis)', () => {
  const sectors = [
    { id: 1, weight: 4 },
    { id: 2, weight: 3 },
    { id: 3, weight: 2 },
    { id: 4, weight: 1 },
  ];
  const firsts = new Map<number, number>();
  const N = 4000;
  for (let i = 0; i < N; i++) {
    const txid = new Uint8Array(32);
    new DataView(txid.buffer).setUint32(0, i);
    const r = selectSectors({ purpose: 'record', beacon: new Uint8Array(32), txid, origin: null, sectors, count: 1 });
    if (r.ok) firsts.set(r.value.primary[0]!, (firsts.get(r.value.primary[0]!) ?? 0) + 1);
  }
  for (const s of sectors) {
    const share = (firsts.get(s.id) ?? 0) / N;
    // Expected weight/10; 4000 draws keep the error well under 0.03.
    assert.ok(Math.abs(share - s.weight / 10) < 0.03, `sector ${s.id}: ${share}`);
  }
});

test.run();
