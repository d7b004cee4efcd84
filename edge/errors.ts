/**
 * How the edge answers a refusal: every error is `{ error: { code, message } }`
 * with an HTTP status chosen from its code. Inside the coordinator a refusal is
 * thrown as `PouwError(code, message)` (core's one operational error class), so
 * a handler can stop at its first failed check; `Coordinator.handle` catches it,
 * and the transaction's savepoint undoes whatever the handler had written.
 *
 * Consensus codes from core (`high-hash`, `bad-diffbits`, `tx-bad-signature`,
 * ...) keep their names and map to 422; decoder codes (`codec-*`) to 400.
 * @module
 */
import { PouwError, type Fail } from '../core/errors.js';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  'bad-json': 400,
  'bad-request': 400,
  'bad-proof': 400,
  'auth-required': 401,
  'bad-signature': 401,
  'challenge-unknown': 401,
  'challenge-expired': 401,
  'challenge-used': 401,
  'not-found': 404,
  'unknown-sector': 404,
  'unknown-tx': 404,
  'unknown-conversion': 404,
  'window-not-ended': 404,
  'beacon-undetermined': 409,
  'not-assigned': 409,
  'insufficient-confirmations': 409,
  'body-too-large': 413,
  'upgrade-required': 426,
  'rate-limited': 429,
  'internal-error': 500,
};

/** HTTP status of an error code: listed codes, 400 for decoder codes, 422 for every rule a request broke. */
export function statusOf(code: string): number {
  return STATUS_BY_CODE[code] ?? (code.startsWith('codec-') ? 400 : 422);
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Stops a handler with a coded refusal. */
export function reject(code: string, message: string): never {
  throw new PouwError(code, message);
}

/** Unwraps a core Result, turning its failure into a refusal with the same code. */
export function unwrap<T>(r: { ok: true; value: T } | Fail, context = ''): T {
  if (r.ok) return r.value;
  return reject(r.code, context ? `${context}: ${r.detail}` : r.detail);
}
