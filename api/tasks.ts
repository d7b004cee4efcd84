/**
 * The task routes' bodies and answers (routes in api/routes.ts):
 *
 *   POST /v1/tasks            {tx, inputs: [blob address, ...]}: a task tx
 *                             (core/tx.ts kind task) routed as a MAIN tx, and
 *                             the blobs that hold its inputs (api/blobs.ts);
 *                             answered like POST /v1/main/tx
 *   GET  /v1/tasks            ?sector=&state=: the tasks the edge knows, newest first
 *   GET  /v1/tasks/:txid      one task
 *
 * A gemm-i8 task names two blobs, A (m×k) and B (k×n), int8 row-major; the
 * edge checks that they are stored, of those sizes, with entries in
 * [−64, 64], and that they commit to the tx's commitA and commitB
 * (`task-input-missing`, `task-input-mismatch`). The other kinds name one
 * blob. A task's state: `pending` until the edge's MAIN fold decides its tx,
 * then `open` (the escrow is final), `accepted` (a result won and the escrow
 * paid its executors), `expired` (deadline passed, refunded) or `void` (the
 * tx did not apply). Executors send their results as MAIN txs of kind commit,
 * then reveal (POST /v1/main/tx); `round`, `commits`, `reveals` and `result`
 * say where that stands in the edge's fold.
 * @module
 */
import { toHex } from '../core/bytes.js';
import type { TaskWork, Tx } from '../core/tx.js';
import { blobHashOf } from './blobs.js';
import { intOf, listOf, objectOf, stringOf, txOf } from './codec.js';
import { reject } from './errors.js';

export type TaskState = 'pending' | 'open' | 'accepted' | 'expired' | 'void';
export const TASK_STATES: readonly TaskState[] = ['pending', 'open', 'accepted', 'expired', 'void'];

export interface TaskSubmit {
  tx: Tx;
  raw: Uint8Array;
  inputs: string[];
}

export const taskSubmitBody = {
  write: ({ raw, inputs }: TaskSubmit) => ({ tx: toHex(raw), inputs }),
  parse(json: unknown): TaskSubmit {
    const o = objectOf(json, 'body');
    const { tx, raw } = txOf(o.tx);
    if (tx.payload.kind !== 'task') reject('bad-task', `a ${tx.payload.kind} tx is not a task`);
    const inputs = listOf(o.inputs, 'inputs', 2).map(blobHashOf);
    const want = tx.payload.work === 'gemm-i8' ? 2 : 1;
    if (inputs.length !== want) reject('bad-task', `a ${tx.payload.work} task names ${want} input blob(s), got ${inputs.length}`);
    return { tx, raw, inputs };
  },
};

export interface TaskJson {
  id: string;
  sector: number;
  work: TaskWork;
  dims: [number, number, number];
  redundancy: number;
  /** MAIN base units held in escrow. */
  escrow: string;
  deadline: number;
  inputs: string[];
  /** Hex address of the submitter. */
  submitter: string;
  /** The window the edge took the tx in. */
  window: number;
  state: TaskState;
  /** The window whose fold made it final, once it is. */
  finalWindow: number | null;
  /** The scheduling decision, once the escrow is final: who may mine it, and the inputs of the choice (core `rankExecutors`). */
  schedule: TaskScheduleJson | null;
  /** Reassignments so far; this round's commits and reveals. */
  round: number;
  commits: number;
  reveals: number;
  /** The accepted result: its blob hash, confidence in basis points, and the sector addresses (hex) paid. */
  result: { hash: string; confidence: number; paid: string[] } | null;
}

export interface TaskScheduleJson {
  /** Node keys (hex) the task went to, in rank order. */
  assigned: string[];
  /** The candidates ranked: the sector's nodes that relayed headers to the edge in the last SCHEDULE_SEEN_MS. */
  candidates: string[];
  decidedMs: number;
}

/** How recently a node must have relayed a header of the sector to be a candidate executor. */
export const SCHEDULE_SEEN_MS = 10 * 60_000;

const keyList = (v: unknown, what: string) =>
  listOf(v, what, 4096).map((x, i) => {
    const s = stringOf(x, `${what}[${i}]`);
    if (!/^[0-9a-f]{64}$/.test(s)) reject('bad-request', `${what}[${i}] must be a key as 64 hex characters`);
    return s;
  });

function scheduleOf(v: unknown): TaskScheduleJson | null {
  if (v === null) return null;
  const o = objectOf(v, 'schedule');
  return { assigned: keyList(o.assigned, 'schedule.assigned'), candidates: keyList(o.candidates, 'schedule.candidates'), decidedMs: intOf(o.decidedMs, 'schedule.decidedMs', 0, Number.MAX_SAFE_INTEGER) };
}

const u32 = (v: unknown, what: string) => intOf(v, what, 0, 0xffffffff);

export function taskOf(json: unknown): TaskJson {
  const o = objectOf(json, 'task');
  const state = stringOf(o.state, 'state') as TaskState;
  if (!TASK_STATES.includes(state)) reject('bad-request', `unknown task state ${state}`);
  const work = stringOf(o.work, 'work') as TaskWork;
  const dims = listOf(o.dims, 'dims', 3).map((d, i) => u32(d, `dims[${i}]`));
  if (dims.length !== 3) reject('bad-request', 'dims are [m, k, n]');
  const escrow = stringOf(o.escrow, 'escrow');
  if (!/^\d{1,20}$/.test(escrow)) reject('bad-request', 'escrow must be a decimal amount');
  return {
    id: stringOf(o.id, 'id'),
    sector: u32(o.sector, 'sector'),
    work,
    dims: dims as [number, number, number],
    redundancy: u32(o.redundancy, 'redundancy'),
    escrow,
    deadline: intOf(o.deadline, 'deadline', 0, Number.MAX_SAFE_INTEGER),
    inputs: listOf(o.inputs, 'inputs', 2).map(blobHashOf),
    submitter: stringOf(o.submitter, 'submitter'),
    window: intOf(o.window, 'window', 0, Number.MAX_SAFE_INTEGER),
    state,
    finalWindow: o.finalWindow === null ? null : intOf(o.finalWindow, 'finalWindow', 0, Number.MAX_SAFE_INTEGER),
    schedule: scheduleOf(o.schedule ?? null),
    round: u32(o.round ?? 0, 'round'),
    commits: u32(o.commits ?? 0, 'commits'),
    reveals: u32(o.reveals ?? 0, 'reveals'),
    result: resultOf(o.result ?? null),
  };
}

function resultOf(v: unknown): TaskJson['result'] {
  if (v === null) return null;
  const o = objectOf(v, 'result');
  const paid = listOf(o.paid, 'result.paid', 16).map((x, i) => {
    const a = stringOf(x, `result.paid[${i}]`);
    if (!/^[0-9a-f]{40}$/.test(a)) reject('bad-request', `result.paid[${i}] must be an address as 40 hex characters`);
    return a;
  });
  return { hash: blobHashOf(o.hash), confidence: intOf(o.confidence, 'result.confidence', 0, 10_000), paid };
}

export function taskListOf(json: unknown): { tasks: TaskJson[] } {
  return { tasks: listOf(objectOf(json, 'task list').tasks, 'tasks', 1000).map(taskOf) };
}
