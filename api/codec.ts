/**
 * The JSON field codecs of the edge API, shared by its server and its
 * clients: each parser takes `unknown`, trusts nothing, and returns a typed
 * value or stops with a code (`bad-request`, `bad-proof`, `codec-*`,
 * `unknown-sector`); each writer is the exact inverse. Types, lengths and
 * ranges are checked before any bytes are decoded, and decoders run under
 * their hard limits.
 *
 * Conventions: bytes are lower-case hex, bigints decimal strings, integers
 * JSON numbers within the safe range.
 *
 * Pure functions; no storage, no clock.
 * @module
 */
import { SECTIONS, type BodyInclusionProof, type SectionName } from '../core/block.js';
import { fromHex, toHex } from '../core/bytes.js';
import { tryDecode } from '../core/errors.js';
import { decodeHeader, encodeHeader, HEADER_BYTES, type BlockHeader } from '../core/header.js';
import { findSector, type NetworkSpec, type SectorParams } from '../core/params.js';
import type { Selection } from '../core/select.js';
import { decodeLock, type Lock } from '../core/lock.js';
import { decodeWorkHeader, encodeWorkHeader, MAX_RELAY_WORK_PROOF_BYTES } from '../core/task.js';
import { decodeTx, MAX_TX_BYTES, type Tx } from '../core/tx.js';
import { reject, unwrap } from './errors.js';

/** Longest audit path accepted: a tree of 2^64 leaves needs 64 siblings. */
export const MAX_PROOF_PATH = 64;
/** The bytes of a hash, an id, a root or a beacon (hexStringOf and hexOf count bytes, not hex digits). */
export const HASH_BYTES = 32;
/** Most sector ids in one list of a selection. */
export const MAX_SECTOR_LIST = 1024;

const HEX = /^(?:[0-9a-f]{2})*$/;

/** A JSON object (not null, not an array), or `bad-request`. */
export function objectOf(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) reject('bad-request', `${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** A JSON array of at most `max` items, or `bad-request`. */
export function listOf(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) reject('bad-request', `${what} must be a list of at most ${max} items`);
  return v;
}

/** A string, or `bad-request`. */
export function stringOf(v: unknown, what: string): string {
  if (typeof v !== 'string') reject('bad-request', `${what} must be a string`);
  return v;
}

/** A boolean, or `bad-request`. */
export function booleanOf(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') reject('bad-request', `${what} must be true or false`);
  return v;
}

/** Lower-case hex of exactly `length` bytes, or at most `maxLength` bytes. */
export function hexOf(v: unknown, what: string, length: { exact: number } | { max: number }): Uint8Array {
  const max = 'exact' in length ? length.exact : length.max;
  if (typeof v !== 'string' || v.length > 2 * max || !HEX.test(v)) {
    reject('bad-request', `${what} must be lower-case hex of ${'exact' in length ? 'exactly' : 'at most'} ${max} bytes`);
  }
  if ('exact' in length && v.length !== 2 * length.exact) reject('bad-request', `${what} must be ${length.exact} bytes of hex`);
  return fromHex(v);
}

/** Lower-case hex of exactly `length` bytes, kept as the string. */
export function hexStringOf(v: unknown, what: string, length: number): string {
  hexOf(v, what, { exact: length });
  return v as string;
}

/** A safe integer within [min, max]. */
export function intOf(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    reject('bad-request', `${what} must be an integer in ${min}..${max}`);
  }
  return v;
}

/** A non-negative decimal string of a bigint (no sign, no leading zeros), kept as the string. */
export function bigDecimalOf(v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^(?:0|[1-9]\d{0,99})$/.test(v)) reject('bad-request', `${what} must be a decimal integer string`);
  return v;
}

/** A decimal path segment within [min, max] (no sign, no leading zeros). */
export function decimalOf(v: string | undefined, what: string, min: number, max: number): number {
  if (v === undefined || !/^(?:0|[1-9]\d{0,15})$/.test(v)) reject('bad-request', `${what} must be a decimal integer`);
  return intOf(Number(v), what, min, max);
}

/** A sector named by numeric id or slug; `unknown-sector` otherwise. */
export function sectorOf(spec: NetworkSpec, ref: unknown): SectorParams {
  const s = typeof ref === 'number' || typeof ref === 'string' ? findSector(spec, ref) : undefined;
  if (s === undefined) reject('unknown-sector', `no sector ${typeof ref === 'string' || typeof ref === 'number' ? ref : '(not a name)'}`);
  return s;
}

/** A txid path segment: 64 lower-case hex characters. */
export function txidOf(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) reject('bad-request', 'a txid is 64 lower-case hex characters');
  return fromHex(v);
}

export function headerOf(v: unknown, what = 'header'): BlockHeader {
  return unwrap(tryDecode(() => decodeHeader(hexOf(v, what, { exact: HEADER_BYTES }))), what);
}

export function headerHex(h: BlockHeader): string {
  return toHex(encodeHeader(h));
}

/** A header with its work proof, as relays carry headers (core/task.ts `encodeWorkHeader`). */
export interface WorkHeader {
  header: BlockHeader;
  /** Empty for a hash header. */
  workProof: Uint8Array;
}

/** A relayed header in hex: the header, then its work proof; decoded, the work unchecked. */
export function workHeaderOf(v: unknown, what = 'header'): WorkHeader {
  const bytes = hexOf(v, what, { max: HEADER_BYTES + MAX_RELAY_WORK_PROOF_BYTES });
  if (bytes.length < HEADER_BYTES) reject('bad-request', `${what} must be at least ${HEADER_BYTES} bytes of hex`);
  return unwrap(tryDecode(() => decodeWorkHeader(bytes)), what);
}

export function workHeaderHex(h: { header: BlockHeader; workProof?: Uint8Array }): string {
  return toHex(encodeWorkHeader(h.header, h.workProof));
}

export function txOf(v: unknown, what = 'tx'): { tx: Tx; raw: Uint8Array } {
  const raw = hexOf(v, what, { max: MAX_TX_BYTES });
  return { tx: unwrap(tryDecode(() => decodeTx(raw)), what), raw };
}

/** A conversion's lock in hex (core/lock.ts: a Convert tx, or a recycle lock), decoded. */
export function lockOf(v: unknown, what = 'tx'): { lock: Lock; raw: Uint8Array } {
  const raw = hexOf(v, what, { max: MAX_TX_BYTES });
  return { lock: unwrap(tryDecode(() => decodeLock(raw)), what), raw };
}

/** A header with where it sits, as the edge sends headers: `{id, sectorId, height, header: hex}` (the header's work proof follows its 104 bytes). */
export interface HeaderJson {
  id: string;
  sectorId: number;
  height: number;
  header: string;
}

export function headerJson(h: { id: Uint8Array; sectorId: number; height: number; header: BlockHeader; workProof?: Uint8Array }): HeaderJson {
  return { id: toHex(h.id), sectorId: h.sectorId, height: h.height, header: workHeaderHex(h) };
}

/** Checks the shape of a HeaderJson; the header itself is decoded by whoever uses it. */
export function headerJsonOf(v: unknown, what = 'header'): HeaderJson {
  const o = objectOf(v, what);
  return {
    id: hexStringOf(o.id, `${what}.id`, 32),
    sectorId: intOf(o.sectorId, `${what}.sectorId`, 0, 0xffffffff),
    height: intOf(o.height, `${what}.height`, 0, Number.MAX_SAFE_INTEGER),
    header: (hexOf(o.header, `${what}.header`, { max: HEADER_BYTES + MAX_RELAY_WORK_PROOF_BYTES }), o.header as string),
  };
}

/** A sector draw as JSON: the whole order, the primaries and the fallbacks. */
export interface SelectionJson {
  order: number[];
  primary: number[];
  fallback: number[];
}

export function selectionJson(s: Selection): SelectionJson {
  return { order: [...s.order], primary: [...s.primary], fallback: [...s.fallback] };
}

/** A claimed selection, as numbers. */
export function selectionOf(v: unknown, what = 'selection'): Selection {
  const s = objectOf(v, what);
  const ids = (x: unknown, field: string): number[] =>
    listOf(x, `${what}.${field}`, MAX_SECTOR_LIST).map((id, i) => intOf(id, `${what}.${field}[${i}]`, 1, 0xffffffff));
  return { order: ids(s.order, 'order'), primary: ids(s.primary, 'primary'), fallback: ids(s.fallback, 'fallback') };
}

/**
 * A body inclusion proof in its JSON form:
 * `{ section, index, size, path: [hex32], miner: hex20, roots: { <section>: hex32 } }`.
 */
export interface ProofJson {
  section: SectionName;
  index: number;
  size: number;
  path: string[];
  miner: string;
  roots: Record<SectionName, string>;
}

/** Parses a ProofJson; every failure is `bad-proof`. */
export function proofOf(v: unknown): BodyInclusionProof {
  const bad = (m: string): never => reject('bad-proof', m);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('proof must be a JSON object');
  const p = v as Record<string, unknown>;
  if (typeof p.section !== 'string' || !(SECTIONS as readonly string[]).includes(p.section)) bad(`proof.section must be one of ${SECTIONS.join(', ')}`);
  const size = typeof p.size === 'number' && Number.isSafeInteger(p.size) && p.size >= 1 ? p.size : bad('proof.size must be an integer ≥ 1');
  const index =
    typeof p.index === 'number' && Number.isSafeInteger(p.index) && p.index >= 0 && p.index < size ? p.index : bad('proof.index must be in 0..size−1');
  if (!Array.isArray(p.path) || p.path.length > MAX_PROOF_PATH) bad(`proof.path must be a list of at most ${MAX_PROOF_PATH} hashes`);
  const path = (p.path as unknown[]).map((h, i) => hexOrBadProof(h, `proof.path[${i}]`, 32));
  const miner = hexOrBadProof(p.miner, 'proof.miner', 20);
  const rootsIn = p.roots;
  if (typeof rootsIn !== 'object' || rootsIn === null || Array.isArray(rootsIn)) bad('proof.roots must be an object of section roots');
  const roots = {} as Record<SectionName, Uint8Array>;
  for (const s of SECTIONS) roots[s] = hexOrBadProof((rootsIn as Record<string, unknown>)[s], `proof.roots.${s}`, 32);
  return { section: p.section as SectionName, index, size, path, miner, roots };
}

export function proofJson(p: BodyInclusionProof): ProofJson {
  const roots = {} as Record<SectionName, string>;
  for (const s of SECTIONS) roots[s] = toHex(p.roots[s]);
  return { section: p.section, index: p.index, size: p.size, path: p.path.map(toHex), miner: toHex(p.miner), roots };
}

function hexOrBadProof(v: unknown, what: string, length: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== 2 * length || !HEX.test(v)) reject('bad-proof', `${what} must be ${length} bytes of hex`);
  return fromHex(v);
}
