/**
 * Entries of the `mainRecords` and `witnessRecords` body sections (DESIGN §5).
 *
 *   MAIN record    = u8 version (1) ‖ u64 window ‖ tx           (a signed MAIN tx, chain 0)
 *   witness record = u8 version (1) ‖ u64 window ‖ u32 origin sector ‖ origin block id ‖ tx ‖ lock proof
 *                    (a signed convert tx of the origin, and its body inclusion proof in the origin block)
 *                  | u8 version (2) ‖ u64 window ‖ u32 origin sector ‖ origin block id ‖ recycle entry ‖ lock proof
 *                    (a mandatory recycling lock of the origin, proven in that block's settlements)
 *
 * `window` is the MAIN window the edge assigned the tx in: the assignment is
 * made with that window's successor beacon R_{window+1}, so a node holding
 * the sectors' headers can recompute it from the entry alone. A witness
 * record also names the origin block that holds the convert tx and carries
 * the tx's inclusion proof there, so any validator holding the origin's
 * headers can recheck the lock.
 *
 * A record proves its inclusion in a sector block like any body entry: the
 * entry's bytes are the merkle leaf of its section (`bodyInclusionProof`).
 * Blocks check both without chain state (`checkMainRecords`,
 * `checkWitnessRecords`, docs/protocol.md §17); the edge uses these encodings
 * to verify inclusion reports and the MAIN fold to count them.
 * @module
 */
import { readBodyProof, writeBodyProof, type BodyInclusionProof } from './block.js';
import { decodeExact, encodeWith, type Reader } from './codec.js';
import { toHex } from './bytes.js';
import { CodecError, fail, ok, type Fail, type Result } from './errors.js';
import type { RejectCode } from './reject.js';
import { windowOf } from './time.js';
import { lockId, type Lock } from './lock.js';
import { encodeSettlement, readRecycleEntry, RECYCLE_ENTRY_BYTES } from './settlement.js';
import { MAIN_CHAIN, MAX_TX_BYTES, readTx, txId, writeTx, type Tx } from './tx.js';

export const RECORD_VERSION = 1;
/** A witness record of a recycle lock. */
const RECYCLE_WITNESS_VERSION = 2;

export interface MainRecord {
  window: number;
  tx: Tx;
}

export interface WitnessRecord {
  window: number;
  originSector: number;
  /** Id of the origin block holding the lock. */
  originBlock: Uint8Array;
  /** A convert tx of the origin, or a recycle entry of it (its `sector` is `originSector`). */
  lock: Lock;
  /** The lock in the origin block's `txs` (or `settlements`) section: what lets any validator recheck it. */
  lockProof: BodyInclusionProof;
}

function checkWindow(window: number): void {
  if (!Number.isSafeInteger(window) || window < 0) throw new RangeError('window must be a safe integer ≥ 0');
}

function readWindow(r: Reader): number {
  const window = r.u64('record window');
  if (window > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError('codec-out-of-range', 'window above 2^53 − 1');
  return Number(window);
}

export function encodeMainRecord(rec: MainRecord): Uint8Array {
  checkWindow(rec.window);
  return encodeWith((w) => {
    w.u8(RECORD_VERSION).u64(BigInt(rec.window));
    writeTx(w, rec.tx);
  }, 9 + MAX_TX_BYTES);
}

export function decodeMainRecord(bytes: Uint8Array): MainRecord {
  return decodeExact(
    bytes,
    (r) => {
      const version = r.u8('record version');
      if (version !== RECORD_VERSION) throw new CodecError('codec-bad-enum', `unknown record version ${version}`);
      return { window: readWindow(r), tx: readTx(r) };
    },
    'main record',
  );
}

export function encodeWitnessRecord(rec: WitnessRecord): Uint8Array {
  checkWindow(rec.window);
  const { lock } = rec;
  if (lock.kind === 'recycle' && lock.sector !== rec.originSector) throw new RangeError('a recycle lock is of its origin sector');
  return encodeWith((w) => {
    w.u8(lock.kind === 'tx' ? RECORD_VERSION : RECYCLE_WITNESS_VERSION).u64(BigInt(rec.window)).u32(rec.originSector).fixed(rec.originBlock, 32);
    if (lock.kind === 'tx') writeTx(w, lock.tx);
    else w.fixed(encodeSettlement(lock.entry), RECYCLE_ENTRY_BYTES);
    writeBodyProof(w, rec.lockProof);
  }, 45 + MAX_TX_BYTES + 1400);
}

export function decodeWitnessRecord(bytes: Uint8Array): WitnessRecord {
  return decodeExact(
    bytes,
    (r) => {
      const version = r.u8('record version');
      if (version !== RECORD_VERSION && version !== RECYCLE_WITNESS_VERSION) throw new CodecError('codec-bad-enum', `unknown witness record version ${version}`);
      const window = readWindow(r);
      const originSector = r.u32('origin sector');
      const originBlock = r.fixed(32, 'origin block');
      let lock: Lock;
      if (version === RECORD_VERSION) lock = { kind: 'tx', tx: readTx(r) };
      else lock = { kind: 'recycle', sector: originSector, entry: readRecycleEntry(r) };
      return { window, originSector, originBlock, lock, lockProof: readBodyProof(r) };
    },
    'witness record',
  );
}

/** What a record is of: the MAIN tx's id, or the witnessed lock's (core/lock.ts `lockId`). */
export function recordTxid(rec: MainRecord | WitnessRecord): Uint8Array {
  return 'tx' in rec ? txId(rec.tx) : lockId(rec.lock);
}

/** The MAIN window a block of time `timeMs` falls in: what its records are checked against. */
export function blockWindowOf(spec: { genesisTimeMs: number; main: { windowMs: number } }, timeMs: number): number {
  return windowOf(timeMs, spec.genesisTimeMs, spec.main.windowMs);
}

/** Block window and the recording deadline a block's records are checked against. */
export interface RecordWindowRule {
  /** windowOf(block time). */
  blockWindow: number;
  /** `recordWindows` of the MAIN params: no record older than this enters a block. */
  recordWindows: number;
}

/** A record of window w may enter a block of window b only when w < b (R_{w+1} is public) and b − w ≤ recordWindows. */
function checkRecordWindow(what: 'main' | 'witness', i: number, window: number, rule: RecordWindowRule): Fail<RejectCode> | null {
  const early = what === 'main' ? 'main-record-too-early' : 'witness-record-too-early';
  const late = what === 'main' ? 'main-record-too-late' : 'witness-record-too-late';
  if (window >= rule.blockWindow) return fail(early, `${what} record ${i}: window ${window} has not ended by window ${rule.blockWindow}`);
  if (rule.blockWindow - window > rule.recordWindows) {
    return fail(late, `${what} record ${i}: window ${window} is more than ${rule.recordWindows} windows before ${rule.blockWindow}`);
  }
  return null;
}

/**
 * The `mainRecords` rules of a block, needing no chain state: each entry
 * decodes, carries a MAIN tx (chain 0) valid under `checkTx` (signature
 * included), its window has ended by the block's window and is at most
 * `recordWindows` old, and no tx is recorded twice in one block. Whether the
 * sector was drawn is not a block rule: the MAIN fold counts only records of
 * drawn sectors (core/main-ledger.ts), and a node may refuse to include an
 * assignment it cannot recompute.
 */
export function checkMainRecords(
  entries: readonly Uint8Array[],
  rule: RecordWindowRule,
  check: (tx: Tx) => Result<Uint8Array, RejectCode>,
): Result<MainRecord[], RejectCode> {
  const seen = new Set<string>();
  const records: MainRecord[] = [];
  for (let i = 0; i < entries.length; i++) {
    let rec: MainRecord;
    try {
      rec = decodeMainRecord(entries[i]!);
    } catch (e) {
      if (e instanceof CodecError) return fail('bad-main-record', `main record ${i}: ${e.code} ${e.message}`);
      throw e;
    }
    if (rec.tx.chain !== MAIN_CHAIN) return fail('bad-main-record', `main record ${i}: a tx of chain ${rec.tx.chain}, not MAIN`);
    const r = check(rec.tx);
    if (!r.ok) return fail(r.code, `main record ${i}: ${r.detail}`);
    const timing = checkRecordWindow('main', i, rec.window, rule);
    if (timing) return timing;
    const key = toHex(r.value);
    if (seen.has(key)) return fail('bad-main-record-duplicate', `main record ${i} repeats tx ${key}`);
    seen.add(key);
    records.push(rec);
  }
  return ok(records);
}

/**
 * The `witnessRecords` rules of a block of sector `sectorId`, needing no
 * chain state: each entry decodes, names another sector as origin, carries a
 * convert tx of that origin valid under `checkTx` (`check` is given the
 * origin's chain id) with a lock proof in the `txs` section, or a recycle
 * entry with a lock proof in the `settlements` section; a window as for MAIN
 * records, and no conversion twice in one block. Whether the lock is on the
 * origin's best chain, deep enough and proven under the origin block's body
 * root needs the origin's headers: the MAIN fold checks it, and a witness
 * miner checks it before writing the entry.
 */
export function checkWitnessRecords(
  entries: readonly Uint8Array[],
  sectorId: number,
  rule: RecordWindowRule,
  check: (tx: Tx, chain: number) => Result<Uint8Array, RejectCode>,
): Result<WitnessRecord[], RejectCode> {
  const seen = new Set<string>();
  const records: WitnessRecord[] = [];
  for (let i = 0; i < entries.length; i++) {
    let rec: WitnessRecord;
    try {
      rec = decodeWitnessRecord(entries[i]!);
    } catch (e) {
      if (e instanceof CodecError) return fail('bad-witness-record', `witness record ${i}: ${e.code} ${e.message}`);
      throw e;
    }
    const { lock } = rec;
    if (rec.originSector === sectorId) return fail('bad-witness-record', `witness record ${i}: a sector does not witness its own conversions`);
    if (lock.kind === 'tx') {
      if (lock.tx.payload.kind !== 'convert' || lock.tx.chain !== rec.originSector) {
        return fail('bad-witness-record', `witness record ${i}: not a convert tx of sector ${rec.originSector}`);
      }
      if (rec.lockProof.section !== 'txs') return fail('bad-witness-record', `witness record ${i}: a convert tx is proven in the txs section`);
      const r = check(lock.tx, rec.originSector);
      if (!r.ok) return fail(r.code, `witness record ${i}: ${r.detail}`);
    } else {
      if (rec.lockProof.section !== 'settlements') return fail('bad-witness-record', `witness record ${i}: a recycle entry is proven in the settlements section`);
      if (lock.entry.amount === 0n) return fail('bad-witness-record', `witness record ${i}: a recycle lock of nothing`);
    }
    const timing = checkRecordWindow('witness', i, rec.window, rule);
    if (timing) return timing;
    const key = toHex(lockId(lock));
    if (seen.has(key)) return fail('bad-witness-record-duplicate', `witness record ${i} repeats conversion ${key}`);
    seen.add(key);
    records.push(rec);
  }
  return ok(records);
}
