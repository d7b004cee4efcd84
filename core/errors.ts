/**
 * Error shapes of the whole project.
 *
 * - Consensus and validation failures are values, never exceptions:
 *   `{ ok: false, code, detail }` with a stable kebab-case `code`.
 * - Malformed bytes throw `CodecError` (a coded error) from decoders, so a
 *   caller can turn any decode failure into a rejection with its code.
 * - Operational failures (files, network, configuration) throw `PouwError`,
 *   one class with a `code`, which the CLI and the edge map to exit codes and
 *   HTTP statuses.
 * - Programmer errors (wrong types, out-of-range arguments) throw TypeError or
 *   RangeError and are bugs, not inputs to handle.
 * @module
 */

/**
 * Success with a value, or a coded failure. `C` narrows the codes a function
 * can fail with: the block and tx checks of core use `RejectCode`
 * (core/reject.ts), so a code they do not classify does not compile.
 */
export type Result<T = undefined, C extends string = string> = Ok<T> | Fail<C>;
export type Ok<T> = { ok: true; value: T };
export type Fail<C extends string = string> = { ok: false; code: C; detail: string };

export function ok(): Ok<undefined>;
export function ok<T>(value: T): Ok<T>;
export function ok<T>(value?: T): Ok<T | undefined> {
  return { ok: true, value };
}

export function fail<C extends string>(code: C, detail = ''): Fail<C> {
  return { ok: false, code, detail };
}

/** Codes a decoder can throw. Stable: they appear in logs, peers' ban reasons and docs. */
export const CODEC_ERRORS = [
  'codec-truncated', // input ended before the value did
  'codec-trailing-bytes', // bytes left after a complete value
  'codec-non-minimal', // a varint or length with a shorter encoding
  'codec-oversize', // a length or count above its hard limit
  'codec-out-of-range', // an integer outside its allowed range
  'codec-bad-enum', // an unknown tag, kind or version
  'codec-bad-value', // a field that decodes but cannot be (e.g. a non-canonical flag)
] as const;
export type CodecErrorCode = (typeof CODEC_ERRORS)[number];

export class CodecError extends Error {
  override name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Operational error with a stable code (file missing, bad config, peer timeout...). */
export class PouwError extends Error {
  override name = 'PouwError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Runs `decode` and turns a CodecError into a Fail value; other errors propagate. */
export function tryDecode<T>(decode: () => T): Result<T, CodecErrorCode> {
  try {
    return ok(decode());
  } catch (e) {
    if (e instanceof CodecError) return fail(e.code, e.message);
    throw e;
  }
}
