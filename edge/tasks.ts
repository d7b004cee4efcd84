/**
 * Compute tasks at the edge (api/tasks.ts): a task tx is routed as a MAIN tx
 * (edge/assignments.ts) and its input blobs are remembered beside it; what
 * the task is now comes from the edge's MAIN fold (the escrow final, expired,
 * or the tx void). The blobs themselves were checked by the app before this
 * sees the request (edge/app.ts), since blob stores are asynchronous.
 * @module
 */
import { fromHex, toHex } from '../core/bytes.js';
import { addressOf } from '../core/keys.js';
import type { MainLedger } from '../core/main-ledger.js';
import type { NetworkSpec } from '../core/params.js';
import { decodeTx, txId, type Tx } from '../core/tx.js';
import { sectorOf } from '../api/codec.js';
import { reject } from '../api/errors.js';
import type { TaskJson, TaskState, TaskSubmit } from '../api/tasks.js';
import { TASK_STATES } from '../api/tasks.js';
import type { Answer, Assignments } from './assignments.js';
import type { Sql } from './sql.js';

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

  get(txid: string): TaskJson {
    const r = this.sql.one<TaskRow>('SELECT t.txid, t.sector_id, t.inputs, t.window_no, m.raw FROM tasks t JOIN main_txs m ON m.txid = t.txid WHERE t.txid = ?', fromHex(txid));
    if (r === undefined) reject('unknown-task', `no task ${txid}`);
    return this.json(r, this.ledger());
  }

  list(sector: string | undefined, state: string | undefined): { tasks: TaskJson[] } {
    if (state !== undefined && !TASK_STATES.includes(state as TaskState)) reject('bad-request', `state must be one of ${TASK_STATES.join(', ')}`);
    const sectorId = sector === undefined ? undefined : sectorOf(this.spec, sector).id;
    const rows = this.sql.all<TaskRow>(
      `SELECT t.txid, t.sector_id, t.inputs, t.window_no, m.raw FROM tasks t JOIN main_txs m ON m.txid = t.txid
       ${sectorId === undefined ? '' : 'WHERE t.sector_id = ?'} ORDER BY t.window_no DESC, t.txid LIMIT ?`,
      ...(sectorId === undefined ? [] : [sectorId]),
      state === undefined ? MAX_TASK_LIST : 100 * MAX_TASK_LIST,
    );
    const ledger = this.ledger();
    const tasks = rows.map((r) => this.json(r, ledger)).filter((t) => state === undefined || t.state === state);
    return { tasks: tasks.slice(0, MAX_TASK_LIST) };
  }

  private json(r: TaskRow, ledger: MainLedger): TaskJson {
    const tx = decodeTx(r.raw);
    const p = tx.payload as Extract<Tx['payload'], { kind: 'task' }>;
    const id = toHex(new Uint8Array(r.txid));
    const escrow = ledger.tasks.get(id);
    // The fold folds every window that holds a tx: past this one and not in the ledger, the tx did not apply.
    const state: TaskState = escrow ? escrow.status : ledger.window >= r.window_no ? 'void' : 'pending';
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
    };
  }
}
