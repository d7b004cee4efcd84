/**
 * Which task the miner works on, and its matrices (DESIGN §6 "mining by
 * doing"): the gemm-i8 tasks of this sector that the node's own MAIN ledger
 * holds as final and that a block of the current window may mine
 * (`MainView.minableTasks`, the rule of core/task.ts) and that the edge's
 * scheduler gave this node (`schedule.assigned` of `GET /v1/tasks/:txid`;
 * the others keep hashing), the first in id order whose inputs could be
 * fetched. The inputs come from the edge's blob store
 * (`GET /v1/tasks/:txid` names them, `GET /v1/blobs/:hash` serves them) and
 * are checked here against the task's commitments before any run: a blob
 * that does not commit to the task is refused (`task-input-mismatch`) and the
 * task skipped, never mined on other matrices.
 * @module
 */
import type { NetworkSpec, SectorParams } from '../core/params.js';
import { gemmInputsProblem, type TaskEscrow } from '../core/task.js';
import { windowOf } from '../core/time.js';
import type { EdgeApi } from '../api/client.js';
import type { MainView } from './main-view.js';
import type { MinerTask } from './miner.js';

export type TaskFeedEvent =
  | { type: 'task-taken'; task: string; dims: [number, number, number] }
  | { type: 'task-dropped'; task: string; why: 'deadline' | 'no-longer-open' }
  | { type: 'task-input-refused'; task: string; code: string; detail: string };

export interface TaskFeedOptions {
  spec: NetworkSpec;
  sector: SectorParams;
  main: MainView;
  api: EdgeApi;
  /** This node's key (hex), as the edge's scheduler names executors. */
  nodeKey: string;
  now?: () => number;
  pollMs?: number;
  onEvent?: (e: TaskFeedEvent) => void;
}

/** A task whose inputs were refused is not tried again for this long. */
const RETRY_REFUSED_MS = 60_000;

export class TaskFeed {
  private current: MinerTask | undefined;
  private readonly refused = new Map<string, number>();
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: TaskFeedOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private window(): number {
    return windowOf(this.now(), this.opts.spec.genesisTimeMs, this.opts.spec.main.windowMs);
  }

  start(): void {
    const tick = () => {
      this.loading ??= this.refresh().finally(() => (this.loading = undefined));
      this.timer = setTimeout(tick, this.opts.pollMs ?? 2000);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.loading;
  }

  /** The task to mine now: the current one while a block of this window may still mine it. */
  task(): MinerTask | undefined {
    const c = this.current;
    if (c === undefined) return undefined;
    if (this.window() > c.task.deadline) {
      this.current = undefined;
      this.opts.onEvent?.({ type: 'task-dropped', task: c.task.id, why: 'deadline' });
      return undefined;
    }
    return c;
  }

  /** Picks the task (keeping the current one while it is minable) and fetches its inputs. */
  async refresh(): Promise<void> {
    const window = this.window();
    const minable = this.opts.main.minableTasks(this.opts.sector.id, window);
    if (this.current && !minable.some((t) => t.id === this.current!.task.id)) {
      this.opts.onEvent?.({ type: 'task-dropped', task: this.current.task.id, why: 'no-longer-open' });
      this.current = undefined;
    }
    if (this.current) return;
    for (const t of minable) {
      const at = this.refused.get(t.id);
      if (at !== undefined && this.now() - at < RETRY_REFUSED_MS) continue;
      const got = await this.fetchInputs(t);
      if (got === undefined) continue;
      this.current = got;
      this.opts.onEvent?.({ type: 'task-taken', task: t.id, dims: [t.m, t.k, t.n] });
      return;
    }
  }

  private refuse(t: TaskEscrow, code: string, detail: string): undefined {
    this.refused.set(t.id, this.now());
    this.opts.onEvent?.({ type: 'task-input-refused', task: t.id, code, detail });
    return undefined;
  }

  /** A's and B's bytes from the edge, checked against the task; undefined (and an event) when they are not its. */
  private async fetchInputs(t: TaskEscrow): Promise<MinerTask | undefined> {
    const { api } = this.opts;
    const info = await api.call('task-status', { params: { txid: t.id } }).catch(() => undefined);
    if (info === undefined) return undefined;
    if (!info.ok) return this.refuse(t, info.code, info.message);
    // Not ours (or not scheduled yet): keep hashing, ask again at the next refresh.
    if (!info.value.schedule?.assigned.includes(this.opts.nodeKey)) return undefined;
    if (info.value.inputs.length !== 2) return this.refuse(t, 'task-input-mismatch', `a gemm-i8 task names 2 blobs, the edge lists ${info.value.inputs.length}`);
    const blobs: Int8Array[] = [];
    for (const hash of info.value.inputs) {
      const b = await api.getBlob(hash).catch(() => undefined);
      if (b === undefined) return undefined;
      if (!b.ok) return this.refuse(t, b.code, b.message);
      blobs.push(new Int8Array(b.value.buffer, b.value.byteOffset, b.value.length));
    }
    const [A, B] = blobs as [Int8Array, Int8Array];
    const problem = gemmInputsProblem(t, A, B);
    if (problem !== null) return this.refuse(t, 'task-input-mismatch', problem);
    return { task: t, A, B };
  }
}
