/**
 * Token amounts as people write them ("1.5") and as the chain keeps them
 * (integer base units, `decimals` places). Exact: strings and bigints only.
 * @module
 */
import { fail, ok, type Result } from './errors.js';

/** The largest amount a u64 field holds. */
export const MAX_AMOUNT = (1n << 64n) - 1n;

/** "1.5" with 8 decimals → 150000000n. No sign, no exponent, at most `decimals` fraction digits. */
export function parseAmount(text: string, decimals: number): Result<bigint> {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return fail('bad-amount', `"${text}" is not a decimal amount like 12 or 0.5`);
  const fraction = m[2] ?? '';
  if (fraction.length > decimals) return fail('bad-amount', `"${text}" has more than ${decimals} decimal places`);
  const units = BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  if (units > MAX_AMOUNT) return fail('bad-amount', `"${text}" is above the largest amount`);
  return ok(units);
}

/** 150000000n with 8 decimals → "1.5"; whole amounts have no point. */
export function formatAmount(units: bigint, decimals: number): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  const scale = 10n ** BigInt(decimals);
  const whole = abs / scale;
  const fraction = decimals > 0 ? (abs % scale).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}
