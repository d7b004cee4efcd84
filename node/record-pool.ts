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

/** Most records one template carries. */
export const MAX_RECORDS_PER_BLOCK = 256;

export class MainRecordPool {
  private readonly pending = new Map<string, Held>();
  /** txid → id of the best-chain block that carries it. */
  private readonly included = new Map<string, string>();

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
    return this.included.get(txid);
  }

  /** Entries a block of `blockWindow` may carry, oldest window first; drops those too old to record. */
  forBlock(blockWindow: number, max = MAX_RECORDS_PER_BLOCK): Uint8Array[] {
    const out: Held[] = [];
    for (const [txid, h] of this.pending) {
      if (blockWindow - h.window > MAIN_RECORD_MAX_DELAY_WINDOWS) this.pending.delete(txid);
      else if (h.window < blockWindow) out.push(h);
    }
    return out
      .sort((a, b) => a.window - b.window || (a.txid < b.txid ? -1 : 1))
      .slice(0, max)
      .map((h) => h.entry);
  }

  /** A block joined the best chain: the records it carries are no longer pending. */
  connected(block: Block, blockId: string): void {
    for (const rec of records(block)) {
      const txid = toHex(txId(rec.tx));
      if (this.pending.delete(txid) || !this.included.has(txid)) this.included.set(txid, blockId);
    }
  }

  /** A block left the best chain: its records are pending again. */
  disconnected(block: Block, blockId: string): void {
    for (const rec of records(block)) {
      const txid = toHex(txId(rec.tx));
      if (this.included.get(txid) !== blockId) continue;
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
