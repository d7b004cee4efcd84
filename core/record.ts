/**
 * Entries of the `mainRecords` and `witnessRecords` body sections (DESIGN §5).
 *
 *   MAIN record    = u8 version ‖ u64 window ‖ tx               (a signed MAIN tx, chain 0)
 *   witness record = u8 version ‖ u64 window ‖ u32 origin sector ‖ origin block id ‖ tx
 *                                                               (a signed convert tx of the origin)
 *
 * `window` is the MAIN window the edge assigned the tx in: the assignment is
 * made with that window's successor beacon R_{window+1}, so a node holding
 * the sectors' headers can recompute it from the entry alone. A witness
 * record also names the origin block that holds the convert tx, so the lock
 * can be checked against the origin's header chain.
 *
 * A record proves its inclusion in a sector block like any body entry: the
 * entry's bytes are the merkle leaf of its section (`bodyInclusionProof`).
 * MAIN records are active in blocks (`checkMainRecords`, docs/protocol.md
 * §17); witness records must still be empty (`section-not-active`). The edge
 * uses these encodings to verify inclusion reports.
 * @module
 */
import { decodeExact, encodeWith, type Reader } from './codec.js';
import { toHex } from './bytes.js';
import { CodecError, fail, ok, type Result } from './errors.js';
import type { RejectCode } from './reject.js';
import { windowOf } from './time.js';
import { MAIN_CHAIN, MAX_TX_BYTES, readTx, writeTx, type Tx } from './tx.js';

export const RECORD_VERSION = 1;

export interface MainRecord {
  window: number;
  tx: Tx;
}

export interface WitnessRecord {
  window: number;
  originSector: number;
  /** Id of the origin block holding the convert tx. */
  originBlock: Uint8Array;
  tx: Tx;
}

function checkWindow(window: number): void {
  if (!Number.isSafeInteger(window) || window < 0) throw new RangeError('window must be a safe integer ≥ 0');
}

function readVersionAndWindow(r: Reader): number {
  const version = r.u8('record version');
  if (version !== RECORD_VERSION) throw new CodecError('codec-bad-enum', `unknown record version ${version}`);
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
  return decodeExact(bytes, (r) => ({ window: readVersionAndWindow(r), tx: readTx(r) }), 'main record');
}

export function encodeWitnessRecord(rec: WitnessRecord): Uint8Array {
  checkWindow(rec.window);
  return encodeWith((w) => {
    w.u8(RECORD_VERSION).u64(BigInt(rec.window)).u32(rec.originSector).fixed(rec.originBlock, 32);
    writeTx(w, rec.tx);
  }, 45 + MAX_TX_BYTES);
}

export function decodeWitnessRecord(bytes: Uint8Array): WitnessRecord {
  return decodeExact(
    bytes,
    (r) => {
      const window = readVersionAndWindow(r);
      const originSector = r.u32('origin sector');
      const originBlock = r.fixed(32, 'origin block');
      return { window, originSector, originBlock, tx: readTx(r) };
    },
    'witness record',
  );
}

/** The MAIN window a block of time `timeMs` falls in: what its records are checked against. */
export function blockWindowOf(spec: { genesisTimeMs: number; main: { windowMs: number } }, timeMs: number): number {
  return windowOf(timeMs, spec.genesisTimeMs, spec.main.windowMs);
}

/**
 * A MAIN record may enter a block only after its window has ended (R_{w+1},
 * which drew the sectors, is public from then on) and at most this many
 * windows later, so stale assignments do not linger.
 */
export const MAIN_RECORD_MAX_DELAY_WINDOWS = 24;

/**
 * The `mainRecords` rules of a block whose time is `blockTimeMs`, needing no
 * chain state: each entry decodes, carries a MAIN tx (chain 0) valid under
 * `checkTx` (signature included), its window has ended by the block's window
 * and is at most MAIN_RECORD_MAX_DELAY_WINDOWS old, and no tx is recorded twice
 * in one block. Whether the sector was drawn is not a block rule: the edge and
 * finality count only records of drawn sectors (DESIGN §5), and a node may
 * refuse to include an assignment it cannot recompute.
 */
export function checkMainRecords(
  entries: readonly Uint8Array[],
  blockWindow: number,
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
    if (rec.window >= blockWindow) return fail('main-record-too-early', `main record ${i}: window ${rec.window} has not ended by window ${blockWindow}`);
    if (blockWindow - rec.window > MAIN_RECORD_MAX_DELAY_WINDOWS) {
      return fail('main-record-too-late', `main record ${i}: window ${rec.window} is more than ${MAIN_RECORD_MAX_DELAY_WINDOWS} windows before ${blockWindow}`);
    }
    const key = toHex(r.value);
    if (seen.has(key)) return fail('bad-main-record-duplicate', `main record ${i} repeats tx ${key}`);
    seen.add(key);
    records.push(rec);
  }
  return ok(records);
}
