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
 *
 * Mining by doing (DESIGN §4): while `task` names a final gemm-i8 task with
 * its matrices, each batch is lottery runs on them instead of a nonce scan:
 * a matmul template (nonce 0; each run a millisecond later, so each run is a
 * new job key on the same body), the whole A·B through the backend's lottery kernel, and a
 * winning tile becomes the block's work proof (core/task.ts). A run counts
 * m·n·k′ / macsPerHash hashes in the speed figures: what it bought in
 * chances. The first run of a task also recovers the exact product A·B
 * (`products`), what the miner's result is made of.
 * @module
 */
import { bodyRoot, emptyBody, type Block } from '../core/block.js';
import { setTimeout as delay } from 'node:timers/promises';
import { fromHex, toHex } from '../core/bytes.js';
import { foldedDepth, lotterySeedsForHeader, openTile, ticketThreshold } from '../core/lottery.js';
import type { WorkKind } from '../core/params.js';
import { encodeWorkProof, type TaskEscrow } from '../core/task.js';
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
  | { type: 'found'; height: number; id: string; accepted: boolean; txs: number; work: WorkKind; task?: string }
  | { type: 'task-product'; task: string; runMs: number }
  | { type: 'miner-failed'; message: string };

/** A final gemm-i8 task with its matrices, as the miner mines it. */
export interface MinerTask {
  task: TaskEscrow;
  A: Int8Array;
  B: Int8Array;
}

export interface MinerOptions {
  /** Address credited with rewards. */
  miner: Uint8Array;
  /** Nonces per batch; the template is rebuilt between batches. */
  batch?: bigint;
  now?: () => number;
  onEvent?: (e: MinerEvent) => void;
  /** The task to mine by doing now, if any (asked before every batch). */
  task?: () => MinerTask | undefined;
  /** Lottery runs per batch (default 16), on one template a millisecond apart; the template is rebuilt between batches. */
  lotteryRuns?: number;
}



/** How far ahead of the clock lottery runs may take the header time (each run is one millisecond of it). */
const MAX_MATMUL_LEAD_MS = 1000;

export class Miner {
  private running = false;
  /** Why mining stopped on its own, if it did. */
  error?: Error;
  private loop?: Promise<void>;
  private readonly samples: [number, bigint][] = [];
  private nonceBase = 0n;
  private readonly cancel = new Int32Array(new SharedArrayBuffer(4));
  /** The last matmul template's time: each run needs a new one. */
  private lastMatmulMs = 0;
  /** The exact products A·B recovered by the lottery, by task id (the latest few). */
  readonly products = new Map<string, Int32Array>();
  /** Lottery runs done and blocks found by them, since start. */
  readonly matmulStats = { runs: 0, found: 0 };

  constructor(
    private readonly node: SectorNode,
    private readonly pool: ScanPool,
    private readonly opts: MinerOptions,
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A block to mine on the current tip, nonce 0 (a matmul template: a time past the last one's). */
  template(workKind: WorkKind = 'hash'): Block {
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
    let timeMs = Math.max(this.now(), medianTimePast(times, spec.limits.medianTimeSpan) + 1);
    if (workKind === 'matmul') this.lastMatmulMs = timeMs = Math.max(timeMs, this.lastMatmulMs + 1);
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
      workKind,
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

  /** Mines one batch on a fresh template (lottery runs when there is a task); returns the block found, if any. */
  async mineBatch(): Promise<Block | undefined> {
    const job = this.opts.task?.();
    if (job) return this.mineTask(job);
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
    return this.submit({ ...block, header: { ...block.header, nonce: r.found[0]! } });
  }

  private submit(found: Block, task?: string): Block {
    const id = blockId(found.header);
    const accepted = this.node.submitBlock(found, id);
    this.opts.onEvent?.({
      type: 'found',
      height: found.header.height,
      id: toHex(id),
      accepted: accepted !== undefined,
      txs: found.body.txs.length,
      work: found.header.workKind,
      ...(task !== undefined ? { task } : {}),
    });
    return found;
  }

  /**
   * Lottery runs on the task's matrices: one matmul template per batch, each
   * run a millisecond later than the one before (a new job key, the same
   * body); the first winning tile is a block.
   */
  private async mineTask({ task, A, B }: MinerTask): Promise<Block | undefined> {
    const { sector } = this.node.options;
    const config = sector.lottery;
    const { m, k, n } = task;
    const hashesPerRun = (BigInt(m) * BigInt(n) * BigInt(foldedDepth(k, config.rank))) / config.macsPerHash;
    const runs = this.opts.lotteryRuns ?? 16;
    // A run is a millisecond of header time: runs faster than that would walk the block time ahead of the clock.
    const ahead = this.lastMatmulMs - this.now();
    if (ahead > MAX_MATMUL_LEAD_MS) await delay(ahead - MAX_MATMUL_LEAD_MS);
    const template = this.template('matmul');
    const t = bitsToTarget(template.header.bits);
    if (!t.ok) throw new Error(`template bits invalid: ${t.code}`);
    const threshold = ticketThreshold(t.value, config, k);
    for (let i = 0; i < runs && !Atomics.load(this.cancel, 0); i++) {
      const header = { ...template.header, timeMs: template.header.timeMs + i };
      // Never ahead of the clock by more than the batch: the next template starts past this one.
      this.lastMatmulMs = header.timeMs;
      const seeds = lotterySeedsForHeader(header, { config, commitA: task.commitA, commitB: task.commitB, m, n });
      const recover = !this.products.has(task.id);
      const started = this.now();
      const r = await this.pool.lottery({ A, B, m, k, n, config, seedA: seeds.seedA, seedB: seeds.seedB, threshold, recover });
      this.matmulStats.runs++;
      this.samples.push([this.now(), hashesPerRun]);
      if (recover && r.product) {
        while (this.products.size >= 8) this.products.delete(this.products.keys().next().value as string);
        this.products.set(task.id, r.product);
        this.opts.onEvent?.({ type: 'task-product', task: task.id, runMs: this.now() - started });
      }
      if (r.winners.length === 0) continue;
      const tilesPerRow = n / config.tileCols;
      const win = r.winners[0]!;
      const opening = openTile({ A, B, m, k, n, config, ti: Math.floor(win / tilesPerRow), tj: win % tilesPerRow });
      const proof = encodeWorkProof({ task: fromHex(task.id), m, k, n, commitA: task.commitA, commitB: task.commitB, ...opening });
      this.matmulStats.found++;
      return this.submit({ ...template, header, workProof: proof }, task.id);
    }
    while (this.samples.length > 0 && this.samples[0]![0] < this.now() - 15 * 60_000) this.samples.shift();
    return undefined;
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
        // A kernel or template failure stops mining; `error` and an event say why.
        this.error = e as Error;
        this.running = false;
        this.opts.onEvent?.({ type: 'miner-failed', message: this.error.message });
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
