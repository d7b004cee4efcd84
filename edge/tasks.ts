/**
 * Compute tasks at the edge (api/tasks.ts): a task tx is routed as a MAIN tx
 * (edge/assignments.ts) and its input blobs are remembered beside it; what
 * the task is now comes from the edge's MAIN fold (the escrow final, expired,
 * or the tx void). The blobs themselves were checked by the app before this
 * sees the request (edge/app.ts), since blob stores are asynchronous.
 * @module
 */
import { equalBytes, fromHex, toHex } from '../core/bytes.js';
import { addressOf } from '../core/keys.js';
import type { MainLedger } from '../core/main-ledger.js';
import type { NetworkSpec } from '../core/params.js';
import { decodeTx, txId, type Tx } from '../core/tx.js';
import { sectorOf } from '../api/codec.js';
import { reject } from '../api/errors.js';
import type { TaskJson, TaskScheduleJson, TaskState, TaskSubmit } from '../api/tasks.js';
import { SCHEDULE_SEEN_MS, TASK_STATES } from '../api/tasks.js';
import { rankExecutors } from '../core/task.js';
import type { Answer, Assignments } from './assignments.js';
import type { Sql } from './sql.js';

/**
 * Round r's executors: places r·redundancy … (r+1)·redundancy − 1 of the
 * ranking, wrapping around when the candidates run out (the fold refuses a
 * commit from an executor of an earlier round, so a wrapped place is only
 * useful once new candidates join).
 */
export function assignedInRound(txid: Uint8Array, candidates: readonly string[], redundancy: number, round: number): string[] {
  const ranked = rankExecutors(txid, [...candidates]).map((x) => x.key);
  const out: string[] = [];
  for (let i = 0; i < Math.min(redundancy, ranked.length); i++) out.push(ranked[(round * redundancy + i) % ranked.length]!);
  return out;
}

interface TaskRow {
  txid: Uint8Array;
  sector_id: number;
  inputs: string;
  window_no: number;
  raw: Uint8Array;
}

/** Tasks listed at most per answer. */
export const MAX_TASK_LIST = 1000;

export class EdgeTasks {
  constructor(
    private readonly sql: Sql,
    private readonly spec: NetworkSpec,
    private readonly assignments: Assignments,
    private readonly ledger: () => MainLedger,
  ) {}

  /** POST /v1/tasks: the tx must be a task this network can run (`bad-task`); then it is a MAIN tx like any other. */
  submit({ tx, raw, inputs }: TaskSubmit, nowMs: number): Answer {
    if (tx.payload.kind !== 'task') reject('bad-task', 'not a task tx');
    // submitMain refuses a task this network cannot run (`bad-task`).
    const answer = this.assignments.submitMain({ tx, raw }, nowMs);
    const intake = answer.body as { window: number };
    this.sql.run('INSERT OR IGNORE INTO tasks (txid, sector_id, inputs, window_no) VALUES (?, ?, ?, ?)', txId(tx), tx.payload.sector, JSON.stringify(inputs), intake.window);
    return answer;
  }

  get(txid: string, nowMs: number): TaskJson {
    const r = this.sql.one<TaskRow>('SELECT t.txid, t.sector_id, t.inputs, t.window_no, m.raw FROM tasks t JOIN main_txs m ON m.txid = t.txid WHERE t.txid = ?', fromHex(txid));
    if (r === undefined) reject('unknown-task', `no task ${txid}`);
    return this.json(r, this.ledger(), nowMs);
  }

  /**
   * The scheduling decision of an open task, made the first time it is asked
   * for and kept: the sector's nodes that relayed a header in the last
   * SCHEDULE_SEEN_MS are the candidates, ranked by core `rankExecutors`; the
   * first `redundancy` get it. Null while no node qualifies (asked again later).
   * A reassigned task (round r) goes to the next `redundancy` of the same
   * ranking: `assignedInRound`.
   */
  private schedule(txid: Uint8Array, sectorId: number, redundancy: number, round: number, nowMs: number): TaskScheduleJson | null {
    const known = this.sql.one<{ candidates: string; assigned: string; decided_ms: number }>('SELECT candidates, assigned, decided_ms FROM task_schedule WHERE txid = ?', txid);
    if (known) {
      const candidates = JSON.parse(known.candidates) as string[];
      return { assigned: assignedInRound(txid, candidates, redundancy, round), candidates, decidedMs: known.decided_ms };
    }
    const rows = this.sql.all<{ relayed_by: string }>(
      'SELECT DISTINCT relayed_by FROM headers WHERE sector_id = ? AND relayed_by IS NOT NULL AND received_ms > ? ORDER BY relayed_by',
      sectorId,
      nowMs - SCHEDULE_SEEN_MS,
    );
    const candidates = rows.map((x) => x.relayed_by);
    if (candidates.length === 0) return null;
    const assigned = assignedInRound(txid, candidates, redundancy, round);
    this.sql.run('INSERT INTO task_schedule (txid, candidates, assigned, decided_ms) VALUES (?, ?, ?, ?)', txid, JSON.stringify(candidates), JSON.stringify(assigned), nowMs);
    return { assigned, candidates, decidedMs: nowMs };
  }

  list(sector: string | undefined, state: string | undefined, nowMs: number): { tasks: TaskJson[] } {
    if (state !== undefined && !TASK_STATES.includes(state as TaskState)) reject('bad-request', `state must be one of ${TASK_STATES.join(', ')}`);
    const sectorId = sector === undefined ? undefined : sectorOf(this.spec, sector).id;
    const rows = this.sql.all<TaskRow>(
      `SELECT t.txid, t.sector_id, t.inputs, t.window_no, m.raw FROM tasks t JOIN main_txs m ON m.txid = t.txid
       ${sectorId === undefined ? '' : 'WHERE t.sector_id = ?'} ORDER BY t.window_no DESC, t.txid LIMIT ?`,
      ...(sectorId === undefined ? [] : [sectorId]),
      state === undefined ? MAX_TASK_LIST : 100 * MAX_TASK_LIST,
    );
    const ledger = this.ledger();
    const tasks = rows.map((r) => this.json(r, ledger, nowMs)).filter((t) => state === undefined || t.state === state);
    return { tasks: tasks.slice(0, MAX_TASK_LIST) };
  }

  private json(r: TaskRow, ledger: MainLedger, nowMs: number): TaskJson {
    const tx = decodeTx(r.raw);
    const p = tx.payload as Extract<Tx['payload'], { kind: 'task' }>;
    const id = toHex(new Uint8Array(r.txid));
    const escrow = ledger.tasks.get(id);
    // The fold folds every window that holds a tx: past this one and not in the ledger, the tx did not apply.
    const state: TaskState = escrow ? escrow.status : ledger.window >= r.window_no ? 'void' : 'pending';
    const reveals = escrow?.commits.filter((c) => c.result !== null).length ?? 0;
    return {
      id,
      sector: p.sector,
      work: p.work,
      dims: [p.m, p.k, p.n],
      redundancy: p.redundancy,
      escrow: p.amount.toString(),
      deadline: Number(p.deadline),
      inputs: JSON.parse(r.inputs) as string[],
      submitter: toHex(addressOf(tx.from)),
      window: r.window_no,
      state,
      finalWindow: escrow?.window ?? null,
      schedule: state === 'open' ? this.schedule(new Uint8Array(r.txid), p.sector, p.redundancy, escrow!.round, nowMs) : null,
      round: escrow?.round ?? 0,
      commits: escrow?.commits.length ?? 0,
      reveals,
      result:
        escrow?.status === 'accepted' && escrow.result !== null
          ? { hash: toHex(escrow.result), confidence: escrow.confidence, paid: escrow.commits.filter((c) => c.result !== null && equalBytes(c.result, escrow.result!)).map((c) => toHex(c.payTo)) }
          : null,
    };
  }
}
