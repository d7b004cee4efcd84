/**
 * The ordered queue blocks from peers go through before the chain sees them.
 *
 * Blocks are accepted strictly in arrival order, each by the synchronous
 * `accept` callback (Chain.accept and what the node does with its result).
 * Before a batch is accepted, the signatures of its txs that the cache does
 * not already hold (the mempool fills it as txs arrive) are verified on the
 * verify pool's threads and the ones found valid are added to the cache, so
 * the chain's cached verifier answers them without work. While one batch is
 * accepted on the calling thread, the workers already verify the next one.
 *
 * Nothing here decides validity: a signature the pool refused is simply not
 * cached, and the chain verifies it again and rejects the block with its usual
 * code (tx-bad-signature). Without a pool, or with a pool of 0 workers, blocks
 * go straight to `accept` and the chain verifies in-thread.
 * @module
 */
import type { Block } from '../core/block.js';
import { decodeMainRecord } from '../core/record.js';
import { txId, txSigningMessage, type Tx } from '../core/tx.js';
import type { SignatureCache } from './sig-cache.js';
import type { SignatureCheck, VerifyJob, VerifyPool } from './verify-pool.js';

export interface BlockQueueOptions<T> {
  networkId: Uint8Array;
  cache: SignatureCache;
  pool?: VerifyPool;
  /** The block an item carries. */
  blockOf: (item: T) => Block;
  /** Accepts one item; called in push order, never concurrently. */
  accept: (item: T) => void;
  /**
   * Runs one batch's accepts together (the store's transaction, so a batch
   * costs one commit); each accept still runs in its own nested transaction.
   */
  transaction?: (fn: () => void) => void;
  /** Called when `accept` throws, or the batch's transaction does (the queue goes on). */
  onError?: (error: unknown, item?: T) => void;
  /** Most blocks per batch (default 128). */
  maxBatchBlocks?: number;
  /** A batch closes once it holds this many signatures to verify (default 2048). */
  maxBatchSignatures?: number;
}

interface Batch<T> {
  items: T[];
  checks: SignatureCheck[];
  job?: VerifyJob;
}

/** The signature checks of a block's txs and recorded MAIN txs, as the chain's checkTx will ask them. */
export function blockSignatureChecks(block: Block, networkId: Uint8Array): SignatureCheck[] {
  const recorded: Tx[] = [];
  for (const entry of block.body.mainRecords) {
    try {
      recorded.push(decodeMainRecord(entry).tx);
    } catch {
      // checkBlock refuses it with its code; nothing to verify ahead.
    }
  }
  return [...block.body.txs, ...recorded].map((tx) => ({ signature: tx.signature, message: txSigningMessage(networkId, txId(tx)), publicKey: tx.from }));
}

export class BlockQueue<T> {
  private readonly items: T[] = [];
  private draining = false;
  private running?: Promise<void>;
  private inFlight = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: BlockQueueOptions<T>) {}

  /** Items pushed and not yet accepted (a batch being verified included). */
  get pending(): number {
    return this.items.length + this.inFlight;
  }

  /** Queues `item`; it is accepted later, after every item pushed before it. */
  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    if (!this.draining) {
      this.draining = true;
      this.running = this.drain();
    }
  }

  /** Resolves once every item pushed so far has been accepted (or the queue closed). */
  idle(): Promise<void> {
    if (!this.draining) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Drops what is queued; a batch being accepted is finished first. */
  async close(): Promise<void> {
    this.closed = true;
    this.items.length = 0;
    await this.running;
  }

  private parallel(): boolean {
    return this.opts.pool !== undefined && this.opts.pool.threads > 0;
  }

  /** Takes the next batch off the queue and starts verifying its uncached signatures on the workers. */
  private take(): Batch<T> | undefined {
    if (this.items.length === 0 || this.closed) return undefined;
    const maxBlocks = this.opts.maxBatchBlocks ?? 128;
    const maxSigs = this.opts.maxBatchSignatures ?? 2048;
    const batch: Batch<T> = { items: [], checks: [] };
    const parallel = this.parallel();
    while (this.items.length > 0 && batch.items.length < maxBlocks && batch.checks.length < maxSigs) {
      const item = this.items.shift()!;
      batch.items.push(item);
      if (!parallel) continue;
      for (const c of blockSignatureChecks(this.opts.blockOf(item), this.opts.networkId)) {
        if (!this.opts.cache.has(c.signature, c.message, c.publicKey)) batch.checks.push(c);
      }
    }
    this.inFlight += batch.items.length;
    if (parallel && batch.checks.length > 0) batch.job = this.opts.pool!.start(batch.checks);
    return batch;
  }

  private async drain(): Promise<void> {
    try {
      // Never accept inside push(): the caller's stack (a socket handler) unwinds first.
      await Promise.resolve();
      let batch = this.take();
      while (batch) {
        if (batch.job) {
          const ok = await batch.job.finish();
          for (let i = 0; i < ok.length; i++) {
            const c = batch.checks[i]!;
            if (ok[i]) this.opts.cache.add(c.signature, c.message, c.publicKey);
          }
        }
        const current = batch;
        // The workers verify the next batch while this one is accepted here.
        batch = this.take();
        const acceptAll = () => {
          for (const item of current.items) {
            if (this.closed) return;
            try {
              this.opts.accept(item);
            } catch (e) {
              this.opts.onError?.(e, item);
            }
          }
        };
        try {
          if (this.opts.transaction) this.opts.transaction(acceptAll);
          else acceptAll();
        } catch (e) {
          this.opts.onError?.(e);
        }
        this.inFlight -= current.items.length;
        batch ??= this.take();
      }
    } finally {
      // Reached with the queue empty (or closed) and no await since the last look at it.
      this.draining = false;
      this.inFlight = 0;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}
