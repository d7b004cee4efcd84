/**
 * MAIN records waiting for a block of this sector: the assignments the edge
 * client accepted (DESIGN §5), kept until a block of the best chain carries
 * them, and dropped once their window is too old to record (core/record.ts
 * MAIN_RECORD_MAX_DELAY_WINDOWS). Like txs to the mempool, the records of a
 * block a reorg disconnects (ours or a peer's) wait for a block again.
 * The miner takes `forBlock(window)` into its templates.
 * @module
 */
import { toHex } from '../core/bytes.js';
import type { Block } from '../core/block.js';
import { CodecError } from '../core/errors.js';
import { decodeMainRecord, encodeMainRecord, MAIN_RECORD_MAX_DELAY_WINDOWS, type MainRecord } from '../core/record.js';
import { txId } from '../core/tx.js';

interface Held {
  txid: string;
  window: number;
  entry: Uint8Array;
}

/** Most carried records remembered for reorgs. */
const MAX_INCLUDED = 16_384;

/** Most records one template carries. */
export const MAX_RECORDS_PER_BLOCK = 256;

export class MainRecordPool {
  private readonly pending = new Map<string, Held>();
  /** Records best-chain blocks carry: txid → that block's id and the record's window (bounded: by age and by MAX_INCLUDED). */
  private readonly included = new Map<string, { blockId: string; window: number }>();

  get size(): number {
    return this.pending.size;
  }

  /** Adds a record to include; false when it is already pending or carried. */
  add(rec: MainRecord): boolean {
    const txid = toHex(txId(rec.tx));
    if (this.pending.has(txid) || this.included.has(txid)) return false;
    this.pending.set(txid, { txid, window: rec.window, entry: encodeMainRecord(rec) });
    return true;
  }

  /** Where the best chain carries `txid`, if it does (for records this pool held). */
  blockOf(txid: string): string | undefined {
    return this.included.get(txid)?.blockId;
  }

  /** Entries a block of `blockWindow` may carry, oldest window first; drops those too old to record. */
  forBlock(blockWindow: number, max = MAX_RECORDS_PER_BLOCK): Uint8Array[] {
    const out: Held[] = [];
    const tooOld = (window: number) => blockWindow - window > MAIN_RECORD_MAX_DELAY_WINDOWS;
    for (const [txid, h] of this.pending) {
      if (tooOld(h.window)) this.pending.delete(txid);
      else if (h.window < blockWindow) out.push(h);
    }
    // Past their window no reorg can need them again: forget them, so the map stays bounded.
    for (const [txid, inc] of this.included) if (tooOld(inc.window)) this.included.delete(txid);
    return out
      .sort((a, b) => a.window - b.window || (a.txid < b.txid ? -1 : 1))
      .slice(0, max)
      .map((h) => h.entry);
  }

  /** A block joined the best chain: the records it carries are no longer pending. */
  connected(block: Block, blockId: string): void {
    for (const rec of records(block)) {
      const txid = toHex(txId(rec.tx));
      this.pending.delete(txid);
      if (!this.included.has(txid)) this.included.set(txid, { blockId, window: rec.window });
    }
    // Oldest first: a reorg deep enough to need them back is far less likely than a node that never mines (and never prunes by age).
    for (const txid of this.included.keys()) {
      if (this.included.size <= MAX_INCLUDED) break;
      this.included.delete(txid);
    }
  }

  /** A block left the best chain: its records are pending again. */
  disconnected(block: Block, blockId: string): void {
    for (const rec of records(block)) {
      const txid = toHex(txId(rec.tx));
      if (this.included.get(txid)?.blockId !== blockId) continue;
      this.included.delete(txid);
      this.pending.set(txid, { txid, window: rec.window, entry: encodeMainRecord(rec) });
    }
  }
}

/** The MAIN records of a block the chain accepted (they decode: checkBlock saw to it). */
function records(block: Block): MainRecord[] {
  const out: MainRecord[] = [];
  for (const e of block.body.mainRecords) {
    try {
      out.push(decodeMainRecord(e));
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
    }
  }
  return out;
}
