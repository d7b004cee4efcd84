/**
 * Block header: a fixed 104-byte layout, so the nonce sits in the last
 * SHA-256 block and miners hash from a midstate over the first 64 bytes.
 *
 * | offset | size | field                                   |
 * |-------:|-----:|-----------------------------------------|
 * |      0 |    4 | version (u32)                           |
 * |      4 |    4 | sector id (u32)                         |
 * |      8 |    8 | height (u64)                            |
 * |     16 |   32 | previous block id                       |
 * |     48 |   32 | body root                               |
 * |     80 |    8 | time, ms since the Unix epoch (u64)     |
 * |     88 |    4 | compact target "bits" (u32)             |
 * |     92 |    4 | work kind (u32: 0 hash, 1 matmul)       |
 * |     96 |    8 | nonce (u64)                             |
 *
 * All integers little-endian. Block id = SHA-256d(header); proof-of-work reads
 * the id as a little-endian 256-bit integer, as Bitcoin does. Ids are shown as
 * plain hex of the 32 bytes (not reversed).
 *
 * This module encodes and decodes; rules about headers live in validate.ts.
 * @module
 */
import { decodeExact, encodeWith, type Reader, type Writer } from './codec.js';
import { CodecError } from './errors.js';
import { sha256d } from './hash.js';
import { WORK_KINDS, type WorkKind } from './params.js';

export const HEADER_BYTES = 104;
export const NONCE_OFFSET = 96;
export const NONCE_BYTES = 8;
export const HEADER_VERSION = 1;

export interface BlockHeader {
  version: number;
  sectorId: number;
  height: number;
  prevHash: Uint8Array;
  bodyRoot: Uint8Array;
  timeMs: number;
  bits: number;
  workKind: WorkKind;
  nonce: bigint;
}

const KIND_BY_CODE = new Map<number, WorkKind>(
  Object.entries(WORK_KINDS).map(([k, v]) => [v, k as WorkKind]),
);

export function writeHeader(w: Writer, h: BlockHeader): void {
  if (!Number.isSafeInteger(h.height) || h.height < 0) throw new RangeError('height must be a safe integer ≥ 0');
  if (!Number.isSafeInteger(h.timeMs) || h.timeMs < 0) throw new RangeError('timeMs must be a safe integer ≥ 0');
  const kind = WORK_KINDS[h.workKind];
  if (kind === undefined) throw new RangeError(`unknown work kind ${h.workKind}`);
  w.u32(h.version)
    .u32(h.sectorId)
    .u64(BigInt(h.height))
    .fixed(h.prevHash, 32)
    .fixed(h.bodyRoot, 32)
    .u64(BigInt(h.timeMs))
    .u32(h.bits)
    .u32(kind)
    .u64(h.nonce);
}

export function readHeader(r: Reader): BlockHeader {
  const version = r.u32('version');
  const sectorId = r.u32('sector id');
  const height = safeNumber(r.u64('height'), 'height');
  const prevHash = r.fixed(32, 'prev hash');
  const bodyRoot = r.fixed(32, 'body root');
  const timeMs = safeNumber(r.u64('time'), 'time');
  const bits = r.u32('bits');
  const kindCode = r.u32('work kind');
  const workKind = KIND_BY_CODE.get(kindCode);
  if (workKind === undefined) throw new CodecError('codec-bad-enum', `unknown work kind ${kindCode}`);
  const nonce = r.u64('nonce');
  return { version, sectorId, height, prevHash, bodyRoot, timeMs, bits, workKind, nonce };
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError('codec-out-of-range', `${what} above 2^53 − 1`);
  return Number(v);
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  return encodeWith((w) => writeHeader(w, h), HEADER_BYTES);
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length !== HEADER_BYTES) {
    throw new CodecError(
      bytes.length < HEADER_BYTES ? 'codec-truncated' : 'codec-trailing-bytes',
      `a header is ${HEADER_BYTES} bytes, got ${bytes.length}`,
    );
  }
  return decodeExact(bytes, readHeader, 'header');
}

/** Block id: SHA-256d of the encoded header. */
export function blockId(h: BlockHeader): Uint8Array {
  return sha256d(encodeHeader(h));
}

/** The header bytes with the nonce zeroed (the matmul lottery's job key input). */
export function headerWithoutNonce(h: BlockHeader): Uint8Array {
  return encodeHeader({ ...h, nonce: 0n });
}
