// Decimal token amounts ⇄ integer base units, exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { formatAmount, MAX_AMOUNT, parseAmount } from '../../core/amount.js';

test('parses decimal amounts into base units', () => {
  const cases: [string, number, bigint][] = [
    ['0', 8, 0n],
    ['1', 8, 100_000_000n],
    ['1.5', 8, 150_000_000n],
    ['0.00000001', 8, 1n],
    [' 12.30 ', 8, 1_230_000_000n],
    ['7', 0, 7n],
    ['184467440737.09551615', 8, MAX_AMOUNT],
  ];
  for (const [text, decimals, units] of cases) {
    const r = parseAmount(text, decimals);
    assert.ok(r.ok, text);
    if (r.ok) assert.is(r.value, units, text);
  }
});

test('refuses what is not an exact, non-negative, in-range amount', () => {
  for (const [text, decimals] of [['', 8], ['-1', 8], ['1e3', 8], ['1.', 8], ['.5', 8], ['0.000000001', 8], ['1.5', 0], ['abc', 8], ['184467440737.09551616', 8], ['0x10', 8]] as const) {
    const r = parseAmount(text, decimals);
    assert.is(r.ok, false, text);
    if (!r.ok) assert.is(r.code, 'bad-amount');
  }
});

test('format then parse is the identity on every u64', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: MAX_AMOUNT }), fc.integer({ min: 0, max: 18 }), (units, decimals) => {
      const r = parseAmount(formatAmount(units, decimals), decimals);
      return r.ok && r.value === units;
    }),
  );
  assert.is(formatAmount(150_000_000n, 8), '1.5');
  assert.is(formatAmount(100_000_000n, 8), '1');
  assert.is(formatAmount(1n, 8), '0.00000001');
  assert.is(formatAmount(-5n, 1), '-0.5');
});

test.run();
