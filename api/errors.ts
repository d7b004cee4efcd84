/**
 * How the edge API refuses, for both of its sides: an error answer is
 * `{ error: { code, message } }` with a stable kebab-case code. Parsers and
 * handlers stop at the first failed check by throwing `PouwError(code,
 * message)` (core's one operational error class) through `reject`.
 *
 * Codes only: which HTTP status a code travels with is the server's business
 * (edge/errors.ts), so a client reads the code, never a status table.
 * @module
 */
import { PouwError, type Fail } from '../core/errors.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Stops a parser or handler with a coded refusal. */
export function reject(code: string, message: string): never {
  throw new PouwError(code, message);
}

/** Unwraps a core Result, turning its failure into a refusal with the same code. */
export function unwrap<T>(r: { ok: true; value: T } | Fail, context = ''): T {
  if (r.ok) return r.value;
  return reject(r.code, context ? `${context}: ${r.detail}` : r.detail);
}

/** The code and message of an error answer, or undefined when `body` is not one. */
export function errorOf(body: unknown): { code: string; message: string } | undefined {
  const e = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return typeof code === 'string' ? { code, message: typeof message === 'string' ? message : '' } : undefined;
}
