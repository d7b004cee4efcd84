/**
 * Paid compute tasks (DESIGN §6) and the matmul blocks they back (DESIGN §4).
 *
 * A task is a MAIN tx of kind `task` (core/tx.ts): it names a sector, what
 * to compute, commitments to the inputs, the redundancy, the escrow it pays
 * and a deadline window. The MAIN fold keeps every final task in the ledger
 * (`TaskEscrow`, core/main-ledger.ts) and refunds the escrow of a task whose
 * deadline passed unaccepted.
 *
 * A block of work kind matmul carries, outside its body root, a work proof:
 *
 *   work proof = task id (32) ‖ u32 m ‖ u32 k ‖ u32 n ‖ commitA ‖ commitB
 *                ‖ u32 ti ‖ u32 tj ‖ bytes rowsOfA ‖ bytes colsOfB
 *                ‖ list(h) of paths ‖ list(w) of paths (a path: list of 32-byte nodes)
 *
 * Two levels of rules. The work (`checkMatmulHeader`) needs the header and
 * the proof only: nonce zero, and the tile verifies against the commitments
 * the proof names, with the header's nonce zeroed and its target. Header
 * relays check that much. The task (`matmulTaskVerdict`) is the full block's
 * rule: the validator's own MAIN ledger holds a gemm-i8 task of this sector
 * with that id, shape and commitments, made final in a window before the
 * block's and not past its deadline. A validator whose ledger lacks the task
 * and has not folded the window before the block's cannot tell yet, so the
 * block waits (pending), as blocks with settlements do.
 * @module
 */
import { equalBytes, fromHex, toHex } from './bytes.js';
import { TAGS, taggedHash } from './hash.js';
import { decodeExact, encodeWith, type Reader } from './codec.js';
import { CodecError, fail, ok, type Result } from './errors.js';
import { decodeHeader, encodeHeader, HEADER_BYTES, headerWithoutNonce, type BlockHeader } from './header.js';
import { commitColumns, commitRows, ENTRY_BOUND, lotteryDimsProblem, verifyTile, type TileOpening } from './lottery.js';
import { findSector, type NetworkSpec, type SectorParams } from './params.js';
import type { RejectCode } from './reject.js';
import { bitsToTarget } from './target.js';
import type { TxPayload } from './tx.js';

/** Most executors a task can ask for. */
export const MAX_REDUNDANCY = 16;
/** Largest input a task may name: m·k + k·n int8 entries (gemm-i8), or bytes of a blob. */
export const MAX_TASK_INPUT_BYTES = 16 << 20;
/** Deepest merkle audit path a work proof can carry (2^32 lines). */
const MAX_PROOF_DEPTH = 32;
/** Largest work proof a header relay carries: a task's tile opening must fit (`taskProblem`). */
export const MAX_RELAY_WORK_PROOF_BYTES = 256 << 10;

export type TaskPayload = Extract<TxPayload, { kind: 'task' }>;

/** A final task as the MAIN ledger keeps it: its tx's terms, who paid, and where it stands. */
export interface TaskEscrow extends Pick<TaskPayload, 'sector' | 'work' | 'm' | 'k' | 'n' | 'commitA' | 'commitB' | 'redundancy'> {
  /** The task tx's id (hex). */
  id: string;
  /** Address that paid the escrow (refunds go there). */
  submitter: Uint8Array;
  /** MAIN held for the task. */
  escrow: bigint;
  deadline: number;
  /** The window whose fold made it final. */
  window: number;
  /**
   * open: commits and reveals are taken; accepted: a result won (`result`,
   * `confidence`) and the escrow was paid to its executors; expired: the
   * deadline passed first and the escrow went back to the submitter.
   */
  status: 'open' | 'accepted' | 'expired';
  /** How many times the task was reassigned: each round starts with no commits. */
  round: number;
  /** This round's commits, in fold order. */
  commits: ResultCommit[];
  /** Executors (address hex) of earlier rounds: they cannot commit again. */
  tried: string[];
  /** The window of this round's first reveal: a commit folded from then on comes too late. */
  revealFrom: number | null;
  /** The accepted result's blob hash and its confidence in basis points (agreeing reveals / reveals). */
  result: Uint8Array | null;
  confidence: number;
}

/** The result fields of a task just made final: round 0, nothing committed. */
export function freshResults(): Pick<TaskEscrow, 'round' | 'commits' | 'tried' | 'revealFrom' | 'result' | 'confidence'> {
  return { round: 0, commits: [], tried: [], revealFrom: null, result: null, confidence: 0 };
}

/** One executor's sealed result, and its opening once revealed. */
export interface ResultCommit {
  /** The sender's address (hex): one commit per executor and round. */
  executor: string;
  commit: Uint8Array;
  payTo: Uint8Array;
  window: number;
  /** The revealed result's blob hash, null until the reveal. */
  result: Uint8Array | null;
}

/** What a commit seals: H_tag("pouw/result-commit", task ‖ executor address ‖ salt ‖ result blob hash). */
export function resultCommit(task: Uint8Array, executor: Uint8Array, salt: Uint8Array, result: Uint8Array): Uint8Array {
  return taggedHash(TAGS.resultCommit, task, executor, salt, result);
}

/** Agreement needed to accept an exact result: more than half of the redundancy, and two thirds (floored) of the reveals. */
export const ACCEPT_CONFIDENCE_BPS = 6666;

/**
 * The verdict on a task's reveals (exact kinds: results agree when their
 * hashes are equal). The largest group of equal results wins (ties: the
 * lower hash); it is accepted when it holds more than half of the task's
 * redundancy and at least ACCEPT_CONFIDENCE_BPS of the reveals. `complete`:
 * every executor of the round revealed, or the deadline came; only then is a
 * losing tally final (`reassign`). Otherwise the task waits for more.
 */
export function tallyResults(
  t: Pick<TaskEscrow, 'redundancy' | 'commits'>,
  complete: boolean,
): { verdict: 'accept'; result: Uint8Array; confidence: number; agreeing: ResultCommit[] } | { verdict: 'reassign' } | { verdict: 'wait' } {
  const revealed = t.commits.filter((c) => c.result !== null);
  const groups = new Map<string, ResultCommit[]>();
  for (const c of revealed) {
    const key = toHex(c.result!);
    const g = groups.get(key);
    if (g) g.push(c);
    else groups.set(key, [c]);
  }
  const best = [...groups].sort(([a, x], [b, y]) => y.length - x.length || (a < b ? -1 : 1))[0];
  const all = revealed.length >= t.redundancy || complete;
  if (best !== undefined && all) {
    const [, agreeing] = best;
    const confidence = Math.floor((agreeing.length * 10_000) / revealed.length);
    if (2 * agreeing.length > t.redundancy && confidence >= ACCEPT_CONFIDENCE_BPS) return { verdict: 'accept', result: agreeing[0]!.result!, confidence, agreeing };
  }
  return all ? { verdict: 'reassign' } : { verdict: 'wait' };
}

/**
 * Why a task tx cannot be a task of this network, or null when it can: the
 * sector exists and allows matmul work (gemm-i8), redundancy in
 * [1, MAX_REDUNDANCY], the shape fits the sector's lottery and the input size
 * limit. Checked where a task meets the spec: the edge's intake, the fold.
 */
export function taskProblem(p: TaskPayload, spec: NetworkSpec): string | null {
  const sector = findSector(spec, p.sector);
  if (sector === undefined) return `unknown sector ${p.sector}`;
  return taskProblemIn(p, sector);
}

/** `taskProblem` for a task of `sector` (whose id the caller matched). */
export function taskProblemIn(p: TaskPayload, sector: Pick<SectorParams, 'slug' | 'workKinds' | 'lottery'>): string | null {
  if (!Number.isInteger(p.redundancy) || p.redundancy < 1 || p.redundancy > MAX_REDUNDANCY) {
    return `redundancy must be in [1, ${MAX_REDUNDANCY}], got ${p.redundancy}`;
  }
  if (p.deadline > BigInt(Number.MAX_SAFE_INTEGER)) return 'deadline beyond 2^53';
  if (p.work === 'gemm-i8') {
    if (!sector.workKinds.includes('matmul')) return `sector ${sector.slug} does no matmul work`;
    const dims = lotteryDimsProblem(p.m, p.k, p.n, sector.lottery);
    if (dims !== null) return dims;
    const bytes = p.m * p.k + p.k * p.n;
    if (bytes > MAX_TASK_INPUT_BYTES) return `inputs of ${bytes} bytes above ${MAX_TASK_INPUT_BYTES}`;
    const proof = workProofBound(p.m, p.k, p.n, sector);
    if (proof > MAX_RELAY_WORK_PROOF_BYTES) return `a tile opening of up to ${proof} bytes above the relay limit ${MAX_RELAY_WORK_PROOF_BYTES}`;
    return null;
  }
  // mlp-f32 and data tasks name one input blob (commitA, its SHA-256) of m·k·(4 or 1) bytes.
  if (![p.m, p.k, p.n].every((v) => Number.isInteger(v) && v >= 1)) return `dimensions must be ≥ 1: ${p.m}×${p.k}×${p.n}`;
  const bytes = p.m * p.k * (p.work === 'mlp-f32' ? 4 : 1);
  if (bytes > MAX_TASK_INPUT_BYTES) return `input of ${bytes} bytes above ${MAX_TASK_INPUT_BYTES}`;
  return null;
}

// ---------------------------------------------------------------- work proofs

/** An upper bound on the encoded work proof of an m×k×n task in `sector`. */
export function workProofBound(m: number, k: number, n: number, sector: Pick<SectorParams, 'lottery'>): number {
  const { tileRows: h, tileCols: w } = sector.lottery;
  const depth = (lines: number) => Math.ceil(Math.log2(Math.max(lines, 2)));
  const varint = 5;
  return 32 + 12 + 64 + 8 + 2 * varint + (h + w) * k + 2 * varint + h * (varint + 32 * depth(m)) + w * (varint + 32 * depth(n));
}

/** A header as relays carry it: the 104 header bytes, then the work proof (none for hash headers). */
export function encodeWorkHeader(header: BlockHeader, workProof: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = encodeHeader(header);
  if (workProof.length === 0) return h;
  const out = new Uint8Array(h.length + workProof.length);
  out.set(h);
  out.set(workProof, h.length);
  return out;
}

/** Splits a relayed header; a CodecError when its 104 bytes are not a header. The work is `checkHeaderWork`'s. */
export function decodeWorkHeader(bytes: Uint8Array): { header: BlockHeader; workProof: Uint8Array } {
  if (bytes.length < HEADER_BYTES) throw new CodecError('codec-truncated', `a header is ${HEADER_BYTES} bytes, got ${bytes.length}`);
  return { header: decodeHeader(bytes.subarray(0, HEADER_BYTES)), workProof: bytes.slice(HEADER_BYTES) };
}

/** What a matmul block carries beside its body: the task it mined (id, shape, commitments) and the winning tile. */
export interface WorkProof extends TileOpening {
  /** The task tx's id. */
  task: Uint8Array;
  m: number;
  k: number;
  n: number;
  commitA: Uint8Array;
  commitB: Uint8Array;
}

export function encodeWorkProof(p: WorkProof): Uint8Array {
  return encodeWith((w) => {
    w.fixed(p.task, 32).u32(p.m).u32(p.k).u32(p.n).fixed(p.commitA, 32).fixed(p.commitB, 32).u32(p.ti).u32(p.tj);
    w.bytes(new Uint8Array(p.rowsOfA.buffer, p.rowsOfA.byteOffset, p.rowsOfA.length), MAX_TASK_INPUT_BYTES);
    w.bytes(new Uint8Array(p.colsOfB.buffer, p.colsOfB.byteOffset, p.colsOfB.length), MAX_TASK_INPUT_BYTES);
    for (const proofs of [p.proofsA, p.proofsB]) {
      w.list(proofs, 1 << 16, (w2, path) => w2.list(path, MAX_PROOF_DEPTH, (w3, node) => w3.fixed(node, 32)));
    }
  });
}

function readProofs(r: Reader, what: string): Uint8Array[][] {
  return r.list(1 << 16, (r2) => r2.list(MAX_PROOF_DEPTH, (r3) => r3.fixed(32, `${what} node`), `${what} path`), what);
}

/** Decodes a work proof; a CodecError on bad bytes. Sizes against the shape are `checkMatmulHeader`'s. */
export function decodeWorkProof(bytes: Uint8Array): WorkProof {
  return decodeExact(
    bytes,
    (r) => {
      const task = r.fixed(32, 'work proof task');
      const m = r.u32('work proof m');
      const k = r.u32('work proof k');
      const n = r.u32('work proof n');
      const commitA = r.fixed(32, 'work proof commitA');
      const commitB = r.fixed(32, 'work proof commitB');
      const ti = r.u32('work proof ti');
      const tj = r.u32('work proof tj');
      const a = r.bytes(MAX_TASK_INPUT_BYTES, 'work proof rows of A');
      const b = r.bytes(MAX_TASK_INPUT_BYTES, 'work proof columns of B');
      const proofsA = readProofs(r, 'work proof A paths');
      const proofsB = readProofs(r, 'work proof B paths');
      const int8 = (x: Uint8Array) => new Int8Array(x.buffer, x.byteOffset, x.length);
      return { task, m, k, n, commitA, commitB, ti, tj, rowsOfA: int8(a), colsOfB: int8(b), proofsA, proofsB };
    },
    'work proof',
  );
}

// ---------------------------------------------------------------- matmul blocks

/**
 * The proof of work of a matmul header, from the header and its work proof
 * alone: nonce zero, the proof decodes, and its tile verifies against the
 * commitments it names (`lottery-*`). What header relays check; whether the
 * task is real is the full block's rule (`matmulTaskVerdict`). Returns the
 * decoded proof.
 */
export function checkMatmulHeader(header: BlockHeader, workProof: Uint8Array, sector: SectorParams): Result<WorkProof, RejectCode> {
  // One winning tile, one block id: the nonce takes no part in the lottery.
  if (header.nonce !== 0n) return fail('bad-work-proof', 'a matmul header has nonce 0');
  let proof: WorkProof;
  try {
    proof = decodeWorkProof(workProof);
  } catch (e) {
    return fail('bad-work-proof', (e as Error).message);
  }
  const target = bitsToTarget(header.bits);
  if (!target.ok) return target;
  // The tile against the commitments the proof names, under this header with its nonce zeroed and its target.
  const r = verifyTile({ ...proof, config: sector.lottery, headerNoNonce: headerWithoutNonce(header), target: target.value });
  return r.ok ? ok(proof) : r;
}

/** What a validator's MAIN ledger says about the task of a matmul block. */
export interface TaskLookup {
  /** The last window the validator's ledger folded. */
  foldedWindow: number;
  task: TaskEscrow | undefined;
}

/**
 * The task rule of a matmul block in window `blockWindow` whose work proof
 * passed `checkMatmulHeader`: ok, pending (no such task in a ledger that has
 * not folded the window before the block's), or `matmul-without-task` (no
 * such task, made final in the block's window or later, another sector's,
 * not gemm-i8, past its deadline, or the proof's shape or commitments are not
 * the task's).
 */
export function matmulTaskVerdict(sectorId: number, blockWindow: number, proof: WorkProof, look: TaskLookup): Result<'ok' | 'pending', RejectCode> {
  const t = look.task;
  if (t === undefined || t.window >= blockWindow) {
    // A task final in a window the ledger has not reached could still appear.
    return look.foldedWindow < blockWindow - 1 ? ok('pending') : fail('matmul-without-task', 'no final task with this id');
  }
  if (!equalBytes(proof.task, fromHex(t.id))) throw new RangeError('matmulTaskVerdict: the lookup is of another task');
  if (t.sector !== sectorId) return fail('matmul-without-task', `task of sector ${t.sector}`);
  if (t.work !== 'gemm-i8') return fail('matmul-without-task', `a ${t.work} task cannot be mined`);
  if (blockWindow > t.deadline) return fail('matmul-without-task', `task deadline ${t.deadline} before window ${blockWindow}`);
  if (proof.m !== t.m || proof.k !== t.k || proof.n !== t.n || !equalBytes(proof.commitA, t.commitA) || !equalBytes(proof.commitB, t.commitB)) {
    return fail('matmul-without-task', "the work proof's matrices are not the task's");
  }
  return ok('ok');
}

/**
 * Why A and B are not the matrices of a gemm-i8 task's terms, or null when
 * they are: their sizes (m×k, k×n), every entry in [−64, 64], and the
 * lottery commitments of A's rows and B's columns. What the edge checks at
 * submission and every executor again before it mines.
 */
export function gemmInputsProblem(t: Pick<TaskPayload, 'm' | 'k' | 'n' | 'commitA' | 'commitB'>, A: Int8Array, B: Int8Array): string | null {
  if (A.length !== t.m * t.k) return `A has ${A.length} entries, ${t.m}×${t.k} needs ${t.m * t.k}`;
  if (B.length !== t.k * t.n) return `B has ${B.length} entries, ${t.k}×${t.n} needs ${t.k * t.n}`;
  for (const [M, name] of [[A, 'A'], [B, 'B']] as const) {
    const bad = M.findIndex((v) => v < -ENTRY_BOUND || v > ENTRY_BOUND);
    if (bad >= 0) return `${name}[${bad}] = ${M[bad]} outside [−${ENTRY_BOUND}, ${ENTRY_BOUND}]`;
  }
  if (!equalBytes(commitRows(A, t.m, t.k), t.commitA)) return "A's rows do not commit to the task's commitA";
  if (!equalBytes(commitColumns(B, t.k, t.n), t.commitB)) return "B's columns do not commit to the task's commitB";
  return null;
}

// ---------------------------------------------------------------- building tasks

/** The payload of a gemm-i8 task over A (m×k) and B (k×n): their lottery commitments and the terms. */
export function gemmTaskPayload(input: {
  A: Int8Array;
  B: Int8Array;
  m: number;
  k: number;
  n: number;
  sector: number;
  redundancy: number;
  escrow: bigint;
  deadline: number;
}): TaskPayload {
  const { A, B, m, k, n } = input;
  return {
    kind: 'task',
    sector: input.sector,
    work: 'gemm-i8',
    m,
    k,
    n,
    commitA: commitRows(A, m, k),
    commitB: commitColumns(B, k, n),
    redundancy: input.redundancy,
    amount: input.escrow,
    deadline: BigInt(input.deadline),
  };
}

// ---------------------------------------------------------------- scheduling

/** One candidate executor and its place in a task's ranking. */
export interface RankedExecutor {
  /** The node's ed25519 public key, hex. */
  key: string;
  /** H_tag("pouw/task-rank", task id ‖ key), hex: lower ranks first. */
  rank: string;
}

/**
 * The published ranking of a task's candidate executors: every candidate's
 * rank is a hash of the task id and its key, so no candidate can choose its
 * place and anyone holding the inputs (the task id and the candidate list the
 * edge records) can recompute the choice. The first `redundancy` get the task.
 * Performance vectors and paid feedback are inputs this ranking does not
 * read yet.
 */
export function rankExecutors(taskId: Uint8Array, candidates: readonly string[]): RankedExecutor[] {
  const unique = [...new Set(candidates)];
  return unique
    .map((key) => ({ key, rank: toHex(taggedHash(TAGS.taskRank, taskId, fromHex(key))) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
}
