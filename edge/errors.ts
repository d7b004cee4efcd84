/**
 * The HTTP status each error code of the edge API travels with. The codes
 * and the error body are the contract's (api/errors.ts); statuses are this
 * server's business alone: clients read codes.
 *
 * Consensus codes from core (`high-hash`, `bad-diffbits`, `tx-bad-signature`,
 * ...) keep their names and map to 422; decoder codes (`codec-*`) to 400.
 * @module
 */

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  'bad-json': 400,
  'bad-request': 400,
  'bad-proof': 400,
  'auth-required': 401,
  'bad-signature': 401,
  'challenge-unknown': 401,
  'challenge-expired': 401,
  'challenge-used': 401,
  'challenge-wrong-key': 401,
  'ticket-unknown': 401,
  'ticket-used': 401,
  'ticket-expired': 401,
  'ticket-wrong-sector': 401,
  'not-found': 404,
  'bad-blob-hash': 400,
  'blob-empty': 400,
  'blob-not-found': 404,
  'blobs-unavailable': 501,
  'unknown-task': 404,
  'bad-task': 400,
  'task-input-missing': 409,
  'unknown-sector': 404,
  'unknown-tx': 404,
  'unknown-conversion': 404,
  'window-not-ended': 404,
  'beacon-undetermined': 409,
  'not-assigned': 409,
  'window-not-assigned': 409,
  'bad-address': 400,
  'nonce-conflict': 409,
  'storage-full': 507,
  'side-branch-full': 429,
  'insufficient-confirmations': 409,
  'body-too-large': 413,
  'upgrade-required': 426,
  'rate-limited': 429,
  'too-many-sockets': 429,
  'internal-error': 500,
};

/** HTTP status of an error code: listed codes, 400 for decoder codes, 422 for every rule a request broke. */
export function statusOf(code: string): number {
  return STATUS_BY_CODE[code] ?? (code.startsWith('codec-') ? 400 : 422);
}
