/**
 * The sector miner: builds a block template on the node's tip from its
 * mempool, scans nonces with a kernel backend in short batches (so a new tip
 * or new txs are picked up within one batch), and submits what it finds.
 *
 * Templates hold the txs that apply on the tip (each checked with the state
 * transition, failing ones skipped), the records the node was assigned and
 * the settlements its MAIN view says are owed next (and, in an epoch's last
 * block, the recycling locks due); the block time is the
 * clock but past the parent's median-time-past, and the bits are ASERT's.
 * Hash rates are kept as (time, hashes) samples for the xmrig-style
 * `speed 10s/60s/15m` figures.
 * @module
 */
import { bodyRoot, emptyBody, type Block } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import { blockId, encodeHeader, HEADER_VERSION, NONCE_OFFSET, type BlockHeader } from '../core/header.js';
import type { ScanPool } from '../platform/node/kernel-pool.js';
import { encodeSettlement } from '../core/settlement.js';
import { applyTx, endsRecycleEpoch, recyclesDue, StateOverlay } from '../core/state-transition.js';
import { bitsToTarget } from '../core/target.js';
import { blockWindowOf } from '../core/record.js';
import { medianTimePast } from '../core/time.js';
import type { Tx } from '../core/tx.js';
import { expectedBits } from '../core/validate.js';
import type { SectorNode } from './sector-node.js';

export type MinerEvent =
  | { type: 'found'; height: number; id: string; accepted: boolean; txs: number };

export interface MinerOptions {
  /** Address credited with rewards. */
  miner: Uint8Array;
  /** Nonces per batch; the template is rebuilt between batches. */
  batch?: bigint;
  now?: () => number;
  onEvent?: (e: MinerEvent) => void;
}



export class Miner {
  private running = false;
  /** Why mining stopped on its own, if it did. */
  error?: Error;
  private loop?: Promise<void>;
  private readonly samples: [number, bigint][] = [];
  private nonceBase = 0n;
  private readonly cancel = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly node: SectorNode,
    private readonly pool: ScanPool,
    private readonly opts: MinerOptions,
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A block to mine on the current tip, nonce 0. */
  template(): Block {
    const { store, chain, mempool } = this.node;
    const { spec, sector } = this.node.options;
    const tip = chain.tip();
    const parent = store.getBlock(tip.id)!;
    const overlay = new StateOverlay(store);
    const txs: Tx[] = [];
    for (const tx of mempool.selectForBlock(store, spec.limits.maxBlockTxs, spec.limits.maxBlockBytes / 2)) {
      if (applyTx(overlay, tx, { sector, networkId: this.node.networkId, verifySignatures: false }).ok) txs.push(tx);
    }
    const times: number[] = [];
    for (let b: Block | undefined = parent; b && times.length < spec.limits.medianTimeSpan; b = store.getBlock(b.header.prevHash)) {
      times.unshift(b.header.timeMs);
      if (b.header.height === 0) break;
    }
    const timeMs = Math.max(this.now(), medianTimePast(times, spec.limits.medianTimeSpan) + 1);
    const body = { ...emptyBody(this.opts.miner), txs, ...this.node.records.forBlock(blockWindowOf(spec, timeMs)), settlements: this.node.settlementsForBlock() };
    const height = tip.height + 1;
    // An epoch's last block carries the recycling locks due, computed on the rest of the template.
    if (endsRecycleEpoch(sector, height)) {
      const draft: Block = { header: { ...parent.header, height }, body, workProof: new Uint8Array(0) };
      const due = recyclesDue(store, draft, chain.applyContext(height));
      if (!due.ok) throw new Error(`template does not apply: ${due.code} ${due.detail}`);
      body.settlements = [...body.settlements, ...due.value.map(encodeSettlement)];
    }
    const header: BlockHeader = {
      version: HEADER_VERSION,
      sectorId: sector.id,
      height,
      prevHash: tip.id,
      bodyRoot: bodyRoot(body),
      timeMs,
      bits: expectedBits(sector, store.getBlock(store.idAtHeight(0)!)!.header, parent.header),
      workKind: 'hash',
      nonce: 0n,
    };
    return { header, body, workProof: new Uint8Array(0) };
  }

  /** Hashes per second over the last `windowMs` (0 when there is no sample yet). */
  speed(windowMs: number): number {
    const now = this.now();
    let hashes = 0n;
    let first = now;
    for (const [t, h] of this.samples) {
      if (t >= now - windowMs) {
        hashes += h;
        first = Math.min(first, t);
      }
    }
    const span = Math.max(now - first, 1);
    return hashes === 0n ? 0 : (Number(hashes) * 1000) / Math.max(span, Math.min(windowMs, 1000));
  }

  /** Mines one batch on a fresh template; returns the block found, if any. */
  async mineBatch(): Promise<Block | undefined> {
    const block = this.template();
    const t = bitsToTarget(block.header.bits);
    if (!t.ok) throw new Error(`template bits invalid: ${t.code}`);
    const count = this.opts.batch ?? 1n << 20n;
    const r = await this.pool.scan({
      header: encodeHeader(block.header),
      nonceOffset: NONCE_OFFSET,
      nonceWidth: 8,
      target: t.value,
      start: this.nonceBase,
      count,
      maxFound: 1,
      stopOnFind: true,
      cancel: this.cancel,
    });
    this.nonceBase += count;
    this.samples.push([this.now(), r.hashesDone]);
    while (this.samples.length > 0 && this.samples[0]![0] < this.now() - 15 * 60_000) this.samples.shift();
    if (r.found.length === 0) return undefined;
    const found: Block = { ...block, header: { ...block.header, nonce: r.found[0]! } };
    const id = blockId(found.header);
    const accepted = this.node.submitBlock(found, id);
    this.opts.onEvent?.({
      type: 'found',
      height: found.header.height,
      id: toHex(id),
      accepted: accepted !== undefined,
      txs: found.body.txs.length,
    });
    return found;
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.cancel[0] = 0;
    this.loop = (async () => {
      try {
        while (this.running) await this.mineBatch();
      } catch (e) {
        // A kernel or template failure stops mining; `error` says why.
        this.error = e as Error;
        this.running = false;
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    Atomics.store(this.cancel, 0, 1);
    await this.loop;
    // Ready for the next start() or a manual mineBatch().
    Atomics.store(this.cancel, 0, 0);
  }
}
