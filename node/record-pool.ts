/**
 * Records waiting for a block of this sector: the MAIN assignments and
 * witness requests the edge client accepted (DESIGN §5), kept until a block
 * of the best chain carries them, and dropped once past the last window in
 * which they could still count (the recording deadline of our place in the
 * order, core/main-ledger.ts `recordDeadline`; never past `recordWindows`,
 * the block rule). Like txs to the mempool, the records of a block a reorg
 * disconnects (ours or a peer's) wait for a block again.
 * The miner takes `forBlock(window)` into its templates.
 * @module
 */
import { toHex } from '../core/bytes.js';
import type { Block } from '../core/block.js';
import { CodecError } from '../core/errors.js';
import { decodeMainRecord, decodeWitnessRecord, encodeMainRecord, encodeWitnessRecord, recordTxid, type MainRecord, type WitnessRecord } from '../core/record.js';
import { txId } from '../core/tx.js';

export type RecordSection = 'mainRecords' | 'witnessRecords';

interface Held {
  section: RecordSection;
  txid: string;
  window: number;
  /** The last block window this record may enter. */
  lastWindow: number;
  entry: Uint8Array;
}

/** Most carried records remembered for reorgs. */
const MAX_INCLUDED = 16_384;

/** Most records of each section one template carries. */
export const MAX_RECORDS_PER_BLOCK = 256;

export interface BlockRecords {
  mainRecords: Uint8Array[];
  witnessRecords: Uint8Array[];
}

export class MainRecordPool {
  private readonly pending = new Map<string, Held>();
  /** Records best-chain blocks carry: section:txid → that block's id and the record (bounded: by age and by MAX_INCLUDED). */
  private readonly included = new Map<string, { blockId: string; held: Held }>();

  /** `recordWindows` of the MAIN params: no record is kept past window + recordWindows. */
  constructor(private readonly recordWindows: number) {}

  get size(): number {
    return this.pending.size;
  }

  /** Adds a MAIN record to include until block window `lastWindow`; false when it is already pending or carried. */
  add(rec: MainRecord, lastWindow = rec.window + this.recordWindows): boolean {
    return this.hold({ section: 'mainRecords', txid: toHex(txId(rec.tx)), window: rec.window, lastWindow, entry: encodeMainRecord(rec) });
  }

  /** Adds a witness record (its lock checked by the caller) to include until block window `lastWindow`. */
  addWitness(rec: WitnessRecord, lastWindow = rec.window + this.recordWindows): boolean {
    return this.hold({ section: 'witnessRecords', txid: toHex(recordTxid(rec)), window: rec.window, lastWindow, entry: encodeWitnessRecord(rec) });
  }

  private hold(h: Held): boolean {
    const key = `${h.section}:${h.txid}`;
    if (this.pending.has(key) || this.included.has(key)) return false;
    this.pending.set(key, { ...h, lastWindow: Math.min(h.lastWindow, h.window + this.recordWindows) });
    return true;
  }

  /** Where the best chain carries `txid` (a MAIN record by default), if it does (for records this pool held). */
  blockOf(txid: string, section: RecordSection = 'mainRecords'): string | undefined {
    return this.included.get(`${section}:${txid}`)?.blockId;
  }

  /** Entries a block of `blockWindow` may carry, oldest window first; drops those past their last window. */
  forBlock(blockWindow: number, max = MAX_RECORDS_PER_BLOCK): BlockRecords {
    const out: Record<RecordSection, Held[]> = { mainRecords: [], witnessRecords: [] };
    for (const [key, h] of this.pending) {
      if (blockWindow > h.lastWindow) this.pending.delete(key);
      else if (h.window < blockWindow) out[h.section].push(h);
    }
    // Past their window no reorg can need them again: forget them, so the map stays bounded.
    for (const [key, inc] of this.included) if (blockWindow > inc.held.lastWindow) this.included.delete(key);
    const take = (list: Held[]) =>
      list
        .sort((a, b) => a.window - b.window || (a.txid < b.txid ? -1 : 1))
        .slice(0, max)
        .map((h) => h.entry);
    return { mainRecords: take(out.mainRecords), witnessRecords: take(out.witnessRecords) };
  }

  /** A block joined the best chain: the records it carries are no longer pending. */
  connected(block: Block, blockId: string): void {
    for (const h of this.recordsOf(block)) {
      const key = `${h.section}:${h.txid}`;
      const mine = this.pending.get(key);
      this.pending.delete(key);
      if (!this.included.has(key)) this.included.set(key, { blockId, held: mine ?? h });
    }
    // Oldest first: a reorg deep enough to need them back is far less likely than a node that never mines (and never prunes by age).
    for (const key of this.included.keys()) {
      if (this.included.size <= MAX_INCLUDED) break;
      this.included.delete(key);
    }
  }

  /** A block left the best chain: its records are pending again. */
  disconnected(block: Block, blockId: string): void {
    for (const h of this.recordsOf(block)) {
      const key = `${h.section}:${h.txid}`;
      const inc = this.included.get(key);
      if (inc?.blockId !== blockId) continue;
      this.included.delete(key);
      this.pending.set(key, inc.held);
    }
  }

  /** The records of a block the chain accepted (they decode: checkBlock saw to it). */
  private recordsOf(block: Block): Held[] {
    const out: Held[] = [];
    const each = (section: RecordSection, entries: Uint8Array[], decode: (e: Uint8Array) => MainRecord | WitnessRecord) => {
      for (const entry of entries) {
        try {
          const rec = decode(entry);
          out.push({ section, txid: toHex(recordTxid(rec)), window: rec.window, lastWindow: rec.window + this.recordWindows, entry });
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
        }
      }
    };
    each('mainRecords', block.body.mainRecords, decodeMainRecord);
    each('witnessRecords', block.body.witnessRecords, decodeWitnessRecord);
    return out;
  }
}
