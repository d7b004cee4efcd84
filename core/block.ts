/**
 * Block body sections, body root and the block wire format.
 *
 * A body has the miner's reward address and six sections, each with its own
 * merkle root (RFC 6962 tree over the entries' encodings):
 *   txs · mainRecords · witnessRecords · taskRecords · observations · settlements
 * body root = H_tag("pouw/body-root", miner ‖ root_txs ‖ root_main ‖
 * root_witness ‖ root_task ‖ root_obs ‖ root_settle), so an entry is proven
 * in a block by its section path plus the other five roots and the miner.
 *
 * The txs section has a schema here; the other five carry opaque,
 * size-limited entries. MAIN and witness records get their rules in
 * core/record.ts, settlements in core/settlement.ts; task and observation
 * entries must stay empty until the rules that give them meaning exist.
 *
 * Block = header (104 bytes) ‖ body ‖ work proof (length-prefixed). The work
 * proof (matmul tile openings) is outside the body root: the lottery key is
 * derived from the header.
 * @module
 */
import { equalBytes } from './bytes.js';
import { decodeExact, encodeWith, type Reader, type Writer } from './codec.js';
import { CodecError } from './errors.js';
import { TAGS, taggedHash } from './hash.js';
import { HEADER_BYTES, readHeader, writeHeader, type BlockHeader } from './header.js';
import { ADDRESS_BYTES } from './keys.js';
import { auditPath, inclusionProof, leafHash, merkleLevels, merkleRoot, verifyLeaf } from './merkle.js';
import type { ChainLimits } from './params.js';
import { encodeTx, readTx, writeTx, type Tx } from './tx.js';

export const OPAQUE_SECTIONS = ['mainRecords', 'witnessRecords', 'taskRecords', 'observations', 'settlements'] as const;
export type OpaqueSection = (typeof OPAQUE_SECTIONS)[number];
export const SECTIONS = ['txs', ...OPAQUE_SECTIONS] as const;
/** Sections whose rules protocol version 1 does not have yet: blocks must leave them empty. */
export const INACTIVE_SECTIONS: readonly OpaqueSection[] = ['taskRecords', 'observations'];
export type SectionName = (typeof SECTIONS)[number];

export interface BlockBody {
  /** Address credited with subsidy and fees. */
  miner: Uint8Array;
  txs: Tx[];
  mainRecords: Uint8Array[];
  witnessRecords: Uint8Array[];
  taskRecords: Uint8Array[];
  observations: Uint8Array[];
  /** Releases of the MAIN fold credited out of the sector treasury (core/settlement.ts). */
  settlements: Uint8Array[];
}

export interface Block {
  header: BlockHeader;
  body: BlockBody;
  /** Matmul tile openings; empty for hash blocks. */
  workProof: Uint8Array;
}

export type BodyLimits = Pick<ChainLimits, 'maxBlockTxs' | 'maxSectionEntries' | 'maxSectionEntryBytes'>;
export type BlockLimits = BodyLimits & Pick<ChainLimits, 'maxWorkProofBytes'>;

export function emptyBody(miner: Uint8Array): BlockBody {
  return { miner, txs: [], mainRecords: [], witnessRecords: [], taskRecords: [], observations: [], settlements: [] };
}

export function writeBody(w: Writer, b: BlockBody, limits: BodyLimits): void {
  w.fixed(b.miner, ADDRESS_BYTES);
  w.list(b.txs, limits.maxBlockTxs, writeTx);
  for (const s of OPAQUE_SECTIONS) {
    w.list(b[s], limits.maxSectionEntries, (w2, e) => w2.bytes(e, limits.maxSectionEntryBytes));
  }
}

export function readBody(r: Reader, limits: BodyLimits): BlockBody {
  const miner = r.fixed(ADDRESS_BYTES, 'miner');
  const txs = r.list(limits.maxBlockTxs, readTx, 'txs');
  const section = (what: string) =>
    r.list(limits.maxSectionEntries, (r2) => r2.bytes(limits.maxSectionEntryBytes, what), what);
  const mainRecords = section('mainRecords');
  const witnessRecords = section('witnessRecords');
  const taskRecords = section('taskRecords');
  const observations = section('observations');
  const settlements = section('settlements');
  return { miner, txs, mainRecords, witnessRecords, taskRecords, observations, settlements };
}

export function encodeBody(b: BlockBody, limits: BodyLimits): Uint8Array {
  return encodeWith((w) => writeBody(w, b, limits));
}

export function decodeBody(bytes: Uint8Array, limits: BodyLimits): BlockBody {
  return decodeExact(bytes, (r) => readBody(r, limits), 'body');
}

/** The leaves of one section: encoded txs, or the raw entries. */
export function sectionLeaves(b: BlockBody, s: SectionName): Uint8Array[] {
  return s === 'txs' ? b.txs.map(encodeTx) : b[s];
}

export function sectionRoots(b: BlockBody): Record<SectionName, Uint8Array> {
  const out = {} as Record<SectionName, Uint8Array>;
  for (const s of SECTIONS) out[s] = merkleRoot(sectionLeaves(b, s));
  return out;
}

/** Body root from the miner and the six section roots (in SECTIONS order). */
export function bodyRootFromSections(miner: Uint8Array, roots: Record<SectionName, Uint8Array>): Uint8Array {
  return taggedHash(TAGS.bodyRoot, miner, ...SECTIONS.map((s) => roots[s]));
}

export function bodyRoot(b: BlockBody): Uint8Array {
  return bodyRootFromSections(b.miner, sectionRoots(b));
}

/** What proves one section entry against a header's body root. */
export interface BodyInclusionProof {
  section: SectionName;
  index: number;
  size: number;
  path: Uint8Array[];
  miner: Uint8Array;
  roots: Record<SectionName, Uint8Array>;
}

export function bodyInclusionProof(b: BlockBody, section: SectionName, index: number): BodyInclusionProof {
  const leaves = sectionLeaves(b, section);
  return {
    section,
    index,
    size: leaves.length,
    path: inclusionProof(leaves, index),
    miner: b.miner,
    roots: sectionRoots(b),
  };
}

/** Every entry's proof of one section at once: one tree, O(n log n), where n calls of `bodyInclusionProof` cost O(n²). */
export function bodyInclusionProofs(b: BlockBody, section: SectionName): BodyInclusionProof[] {
  const leaves = sectionLeaves(b, section);
  const levels = merkleLevels(leaves.map(leafHash));
  const roots = sectionRoots(b);
  return leaves.map((_, index) => ({ section, index, size: leaves.length, path: auditPath(levels, index), miner: b.miner, roots }));
}

/** Does `proof` show that `leaf` (an encoded tx or a raw entry) is in the body with root `root`? */
export function verifyBodyInclusion(leaf: Uint8Array, proof: BodyInclusionProof, root: Uint8Array): boolean {
  if (!SECTIONS.includes(proof.section)) return false;
  if (!verifyLeaf(leaf, proof.index, proof.size, proof.path, proof.roots[proof.section])) return false;
  return equalBytes(bodyRootFromSections(proof.miner, proof.roots), root);
}

/** A merkle path is at most this long: sections are far below 2^32 entries. */
const MAX_PROOF_PATH = 32;

/**
 * Binary form of a body inclusion proof (inside witness records):
 * u8 section ‖ u32 index ‖ u32 size ‖ count-prefixed 32-byte path ‖ miner ‖
 * the six section roots. The index must lie below the size.
 */
export function writeBodyProof(w: Writer, p: BodyInclusionProof): void {
  const code = SECTIONS.indexOf(p.section);
  if (code < 0) throw new RangeError(`unknown section ${p.section}`);
  w.u8(code).u32(p.index).u32(p.size);
  w.list(p.path, MAX_PROOF_PATH, (w2, h) => w2.fixed(h, 32));
  w.fixed(p.miner, ADDRESS_BYTES);
  for (const s of SECTIONS) w.fixed(p.roots[s], 32);
}

export function readBodyProof(r: Reader): BodyInclusionProof {
  const code = r.u8('proof section');
  const section = SECTIONS[code];
  if (section === undefined) throw new CodecError('codec-bad-enum', `unknown section ${code}`);
  const index = r.u32('proof index');
  const size = r.u32('proof size');
  if (index >= size) throw new CodecError('codec-out-of-range', `proof index ${index} not below size ${size}`);
  const path = r.list(MAX_PROOF_PATH, (r2) => r2.fixed(32, 'proof path'), 'proof path');
  const miner = r.fixed(ADDRESS_BYTES, 'proof miner');
  const roots = {} as Record<SectionName, Uint8Array>;
  for (const s of SECTIONS) roots[s] = r.fixed(32, 'proof root');
  return { section, index, size, path, miner, roots };
}

export function writeBlock(w: Writer, b: Block, limits: BlockLimits): void {
  writeHeader(w, b.header);
  writeBody(w, b.body, limits);
  w.bytes(b.workProof, limits.maxWorkProofBytes);
}

export function readBlock(r: Reader, limits: BlockLimits): Block {
  const header = readHeader(r);
  const body = readBody(r, limits);
  const workProof = r.bytes(limits.maxWorkProofBytes, 'work proof');
  return { header, body, workProof };
}

export function encodeBlock(b: Block, limits: BlockLimits): Uint8Array {
  return encodeWith((w) => writeBlock(w, b, limits), HEADER_BYTES + 256);
}

export function decodeBlock(bytes: Uint8Array, limits: BlockLimits): Block {
  return decodeExact(bytes, (r) => readBlock(r, limits), 'block');
}

