/**
 * Block rules that need no account state: the header against its parent and
 * the clock, proof of work against the compact target, and the body's shape.
 * Every failure is a value `{ ok: false, code, detail }`; codes are stable and
 * listed in docs/protocol.md. State rules (balances, nonces, subsidy and fees)
 * are applied where state lives, on top of these.
 * @module
 */
import { equalBytes, toHex } from './bytes.js';
import { nextBitsAsert } from './asert.js';
import { bodyRoot, encodeBody, INACTIVE_SECTIONS, type Block } from './block.js';
import { fail, ok, type Result } from './errors.js';
import type { RejectCode } from './reject.js';
import { blockId, HEADER_VERSION, type BlockHeader } from './header.js';
import type { Verifier } from './keys.js';
import type { NetworkSpec, SectorParams } from './params.js';
import { bitsToTarget, checkProofOfWork } from './target.js';
import { blockWindowOf, checkMainRecords, checkWitnessRecords, decodeMainRecord, decodeWitnessRecord } from './record.js';
import { checkRecycleShape, checkSettlements } from './settlement.js';
import { checkMatmulHeader } from './task.js';
import { checkTxShape, checkTxSignature, MAIN_CHAIN, txId } from './tx.js';

/** The easiest target a sector allows. */
export function powLimitOf(sector: SectorParams): bigint {
  const t = bitsToTarget(sector.powLimitBits);
  if (!t.ok) throw new RangeError(`sector ${sector.slug}: invalid powLimitBits (${t.code})`);
  return t.value;
}

/**
 * Bits required of the child of `parent`: ASERT anchored at genesis, whose
 * (virtual) parent time is one target spacing before the genesis time, so the
 * first block after genesis keeps the genesis target when it is on schedule.
 */
export function expectedBits(sector: SectorParams, genesis: BlockHeader, parent: BlockHeader): number {
  return nextBitsAsert({
    anchorHeight: 0,
    anchorParentTime: genesis.timeMs - sector.blockTimeMs,
    anchorBits: genesis.bits,
    height: parent.height,
    time: parent.timeMs,
    targetSpacing: sector.blockTimeMs,
    halfLife: sector.asertHalfLifeMs,
    powLimit: powLimitOf(sector),
  });
}

/**
 * Proof of work of a header: SHA-256d(header) ≤ target(bits) ≤ powLimit for
 * a hash header (which carries no work proof); for a matmul header, the
 * target within powLimit and its work proof's tile (core/task.ts
 * `checkMatmulHeader`). Returns the block id.
 */
export function checkHeaderWork(header: BlockHeader, sector: SectorParams, workProof: Uint8Array = new Uint8Array(0)): Result<Uint8Array, RejectCode> {
  const id = blockId(header);
  if (header.workKind === 'hash') {
    // The work proof rides outside the body root; hash blocks have none to carry.
    if (workProof.length !== 0) return fail('bad-work-proof', 'hash blocks carry no work proof');
    const r = checkProofOfWork(id, header.bits, powLimitOf(sector));
    return r.ok ? ok(id) : r;
  }
  const target = bitsToTarget(header.bits);
  if (!target.ok) return target;
  if (target.value > powLimitOf(sector)) return fail('bad-bits', 'target above the sector limit');
  const r = checkMatmulHeader(header, workProof, sector);
  return r.ok ? ok(id) : r;
}

export interface HeaderContext {
  parent: BlockHeader;
  parentId: Uint8Array;
  /** Median-time-past of the parent (the parent and its ancestors). */
  parentMtpMs: number;
  /** Bits from `expectedBits`. */
  expectedBits: number;
  /** The validator's clock. */
  nowMs: number;
  maxFutureBlockTimeMs: number;
}

/** Header rules against the parent and the clock. */
export function checkHeaderContext(h: BlockHeader, ctx: HeaderContext): Result<undefined, RejectCode> {
  // A block extends exactly one parent, one height up.
  if (!equalBytes(h.prevHash, ctx.parentId)) return fail('bad-prevblk', `prev ${toHex(h.prevHash)}`);
  if (h.height !== ctx.parent.height + 1) return fail('bad-height', `height ${h.height} after ${ctx.parent.height}`);
  if (h.sectorId !== ctx.parent.sectorId) return fail('bad-sector', `sector ${h.sectorId}`);
  // Difficulty is not the miner's choice: ASERT fixes it from the parent.
  if (h.bits !== ctx.expectedBits) {
    return fail('bad-diffbits', `bits 0x${h.bits.toString(16)}, expected 0x${ctx.expectedBits.toString(16)}`);
  }
  // Time moves forward: later than the median of recent blocks, so miners cannot rewind the clock.
  if (h.timeMs <= ctx.parentMtpMs) return fail('time-too-old', `time ${h.timeMs} ≤ median-time-past ${ctx.parentMtpMs}`);
  // ...and not too far ahead of real time, so miners cannot fast-forward ASERT.
  if (h.timeMs > ctx.nowMs + ctx.maxFutureBlockTimeMs) {
    return fail('time-too-new', `time ${h.timeMs} more than ${ctx.maxFutureBlockTimeMs} ms ahead of ${ctx.nowMs}`);
  }
  return ok();
}

export interface BlockCheckOptions {
  networkId: Uint8Array;
  verify?: Verifier;
}

/**
 * The header's own rules, which need neither body nor parent: version,
 * sector, work kind, proof of work. The first thing asked of a block, since a
 * failure costs its sender nothing to produce but us nothing to detect.
 * A matmul header's work is checked when its work proof is given; a header
 * alone (headers-first sync) passes on its target, and its block is checked
 * in full when it arrives. Returns the block id.
 */
export function checkBlockHeader(h: BlockHeader, sector: SectorParams, workProof?: Uint8Array): Result<Uint8Array, RejectCode> {
  // Unknown versions cannot be interpreted, so they are invalid rather than ignored.
  if (h.version !== HEADER_VERSION) return fail('bad-version', `header version ${h.version}`);
  // A block belongs to exactly one sector chain.
  if (h.sectorId !== sector.id) return fail('bad-sector', `sector ${h.sectorId}, expected ${sector.id}`);
  if (!sector.workKinds.includes(h.workKind)) return fail('bad-work-kind', `${h.workKind} not allowed in ${sector.slug}`);
  if (h.workKind === 'matmul' && workProof === undefined) {
    const target = bitsToTarget(h.bits);
    if (!target.ok) return target;
    return target.value > powLimitOf(sector) ? fail('bad-bits', 'target above the sector limit') : ok(blockId(h));
  }
  return checkHeaderWork(h, sector, workProof);
}

/**
 * The body's shape against the header, without signatures: size, sections,
 * body root, each tx's context-free rules, duplicates, MAIN and witness
 * records, the settlements' and recycle entries' shape.
 */
export function checkBlockBody(block: Block, spec: NetworkSpec, sector: SectorParams): Result<undefined, RejectCode> {
  const h = block.header;
  const size = encodeBody(block.body, spec.limits).length;
  // Bounded blocks keep validation and propagation cost bounded.
  if (size > spec.limits.maxBlockBytes) return fail('block-too-large', `body ${size} > ${spec.limits.maxBlockBytes} bytes`);
  // Sections whose rules are not active in this version must be empty.
  for (const s of INACTIVE_SECTIONS) {
    if (block.body[s].length !== 0) return fail('section-not-active', `${s} must be empty in protocol version 1`);
  }
  // The header commits to exactly this body.
  if (!equalBytes(bodyRoot(block.body), h.bodyRoot)) return fail('bad-body-root', 'body does not match header');
  const ids = new Set<string>();
  for (let i = 0; i < block.body.txs.length; i++) {
    const r = checkTxShape(block.body.txs[i]!, { chain: sector.id });
    if (!r.ok) return fail(r.code, `tx ${i}: ${r.detail}`);
    const key = toHex(r.value);
    // The same tx twice would be applied twice.
    if (ids.has(key)) return fail('bad-txns-duplicate', `tx ${i} repeats ${key}`);
    ids.add(key);
  }
  const rule = { blockWindow: blockWindowOf(spec, h.timeMs), recordWindows: spec.main.recordWindows };
  const records = checkMainRecords(block.body.mainRecords, rule, (tx) => checkTxShape(tx, { chain: MAIN_CHAIN }));
  if (!records.ok) return records;
  const witnesses = checkWitnessRecords(block.body.witnessRecords, sector.id, rule, (tx, chain) => checkTxShape(tx, { chain }));
  if (!witnesses.ok) return witnesses;
  const settlements = checkSettlements(block.body.settlements);
  if (!settlements.ok) return settlements;
  const recycles = checkRecycleShape(settlements.value, h.height, sector.recycle);
  return recycles.ok ? ok() : recycles;
}

/**
 * Every signature of a block whose body passed `checkBlockBody`: its txs,
 * then its recorded MAIN txs and witnessed convert txs (recycle locks carry
 * none). Last, because it is the expensive part.
 */
export function checkBlockSignatures(block: Block, opts: BlockCheckOptions): Result<undefined, RejectCode> {
  const txs = block.body.txs;
  for (let i = 0; i < txs.length; i++) {
    const r = checkTxSignature(txs[i]!, txId(txs[i]!), opts);
    if (!r.ok) return fail(r.code, `tx ${i}: ${r.detail}`);
  }
  const entries = block.body.mainRecords;
  for (let i = 0; i < entries.length; i++) {
    const { tx } = decodeMainRecord(entries[i]!);
    const r = checkTxSignature(tx, txId(tx), opts);
    if (!r.ok) return fail(r.code, `main record ${i}: ${r.detail}`);
  }
  const witnesses = block.body.witnessRecords;
  for (let i = 0; i < witnesses.length; i++) {
    const { lock } = decodeWitnessRecord(witnesses[i]!);
    // A recycle lock carries no signature: the origin's state transition made it.
    if (lock.kind !== 'tx') continue;
    // A convert tx signs for its origin chain; `chain` inside the id keeps it there.
    const r = checkTxSignature(lock.tx, txId(lock.tx), opts);
    if (!r.ok) return fail(r.code, `witness record ${i}: ${r.detail}`);
  }
  return ok();
}

/**
 * Everything about a block that needs neither parent nor state. Returns the
 * block id. Order matters only for cost: the header (proof of work), then the
 * body's shape, then signatures.
 */
export function checkBlock(block: Block, spec: NetworkSpec, sector: SectorParams, opts: BlockCheckOptions): Result<Uint8Array, RejectCode> {
  const header = checkBlockHeader(block.header, sector, block.workProof);
  if (!header.ok) return header;
  const body = checkBlockBody(block, spec, sector);
  if (!body.ok) return body;
  const sigs = checkBlockSignatures(block, opts);
  return sigs.ok ? header : sigs;
}
