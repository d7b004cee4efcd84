/**
 * ed25519 verification on several threads: worker threads each running the
 * node's fast verifier (platform/node/verify.ts), plus the calling thread, which joins
 * in while it waits for a job.
 *
 * A job is a list of (signature, message, public key) checks packed 128
 * bytes a check into a SharedArrayBuffer, cut into chunks of `chunk` checks.
 * Every worker is told about the job at once and claims chunks from a shared
 * counter (Atomics) until none are left, writing one verdict byte per check
 * into shared memory; `finish` makes the calling thread claim chunks the same
 * way, then wait for the chunks the workers hold. So the workers run while the
 * calling thread does other work (the node accepts the previous batch), and
 * the split between threads follows how busy each is, without messages per
 * chunk. Verdicts are the fast verifier's on every thread: the split changes
 * speed, never answers. Checks whose sizes are not 64/32/32 bytes are decided
 * on the calling thread. A chunk a dead worker had claimed is verified again
 * on the calling thread; with no worker left, it does everything.
 *
 * Workers run the compiled `dist/node/verify-worker.js` (npm install and npm
 * test build it). What to verify and what to do with the answers — the
 * signature cache, block order — is the caller's (node/block-queue.ts).
 * @module
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PouwError } from '../core/errors.js';
import type { Verifier } from '../core/keys.js';
import { packageInfo } from '../platform/node/package-info.js';
import { fastVerifier } from '../platform/node/verify.js';

export interface SignatureCheck {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}

/** Bytes of one packed check: signature (64) ‖ public key (32) ‖ message (32). */
export const RECORD_BYTES = 128;

/** Chunk states in a job's shared state array. */
const CLAIMED = 1;
const DONE = 2;

/** What a worker is sent for each job: shared memory only. */
export interface SharedJob {
  id: number;
  /** n packed records. */
  records: SharedArrayBuffer;
  /** n verdict bytes: 1 accepted, 0 refused. */
  verdicts: SharedArrayBuffer;
  /** Int32 [next unclaimed record] then one state per chunk (0, CLAIMED, DONE). */
  control: SharedArrayBuffer;
  n: number;
  chunk: number;
}

/** Verifies records [from, to) of `job` into its verdicts; returns how many. */
function verifyRange(job: SharedJob, from: number, to: number, verify: Verifier): number {
  const records = new Uint8Array(job.records);
  const verdicts = new Uint8Array(job.verdicts);
  for (let i = from; i < to; i++) {
    const at = i * RECORD_BYTES;
    verdicts[i] = verify(records.subarray(at, at + 64), records.subarray(at + 96, at + 128), records.subarray(at + 64, at + 96)) ? 1 : 0;
  }
  return to - from;
}

/**
 * Claims chunks of `job` until none are left, verifying each with `verify`;
 * returns how many checks this thread verified. Shared by the workers and the
 * calling thread.
 */
export function workOn(job: SharedJob, verify: Verifier): number {
  const control = new Int32Array(job.control);
  let mine = 0;
  for (;;) {
    const from = Atomics.add(control, 0, job.chunk);
    if (from >= job.n) return mine;
    const c = 1 + from / job.chunk;
    Atomics.store(control, c, CLAIMED);
    mine += verifyRange(job, from, Math.min(job.n, from + job.chunk), verify);
    Atomics.store(control, c, DONE);
  }
}

export interface VerifyPoolOptions {
  /** Worker threads besides the calling one; default availableParallelism() − 1, 0 for none. */
  threads?: number;
  /** Checks claimed at a time (default 16). */
  chunk?: number;
  /** Package root holding dist/ (default: this package's). */
  root?: string;
  /** The calling thread's verifier (default a fresh fastVerifier()). */
  verify?: Verifier;
}

export function defaultVerifyThreads(): number {
  return Math.max(0, availableParallelism() - 1);
}

interface Job {
  shared: SharedJob;
  /** Indices (into the caller's list) of the packed checks, record order. */
  packed: number[];
  ok: Uint8Array;
  /** Workers that were sent the job and have not reported back (or died). */
  out: Set<Slot>;
  wake?: () => void;
}

interface Slot {
  worker: Worker;
  alive: boolean;
}

/** A started verification; `finish` joins in on the calling thread and returns one verdict per check. */
export interface VerifyJob {
  readonly size: number;
  finish(): Promise<boolean[]>;
}

export class VerifyPool {
  /** Checks verified on the calling thread and on workers (for tests and benchmarks). */
  readonly counts = { main: 0, workers: 0 };
  private readonly slots: Slot[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly chunk: number;
  private readonly verify: Verifier;
  private nextId = 1;
  private closed = false;

  constructor(opts: VerifyPoolOptions = {}) {
    const threads = opts.threads ?? defaultVerifyThreads();
    if (!Number.isSafeInteger(threads) || threads < 0) throw new RangeError('threads is a non-negative integer');
    this.chunk = opts.chunk ?? 16;
    if (!Number.isSafeInteger(this.chunk) || this.chunk < 1) throw new RangeError('chunk is a positive integer');
    this.verify = opts.verify ?? fastVerifier();
    if (threads === 0) return;
    const script = join(opts.root ?? packageInfo().root, 'dist', 'node', 'verify-worker.js');
    if (!existsSync(script)) throw new PouwError('not-built', `${script} is missing: run npm run build`);
    for (let i = 0; i < threads; i++) {
      const slot: Slot = { worker: new Worker(script), alive: true };
      slot.worker.on('message', (m: { id: number; verified: number }) => this.reported(slot, m.id, m.verified));
      slot.worker.on('error', () => this.lost(slot));
      slot.worker.on('exit', () => this.lost(slot));
      this.slots.push(slot);
    }
  }

  /** Worker threads still running (0: everything runs on the calling thread). */
  get threads(): number {
    return this.slots.filter((s) => s.alive).length;
  }

  /** Starts verifying `items` on the workers; the calling thread joins in at `finish`. */
  start(items: SignatureCheck[]): VerifyJob {
    if (this.closed) throw new PouwError('pool-closed', 'the verify pool is closed');
    const ok = new Uint8Array(items.length);
    const packed: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const c = items[i]!;
      if (c.signature.length === 64 && c.publicKey.length === 32 && c.message.length === 32) packed.push(i);
      else ok[i] = this.verify(c.signature, c.message, c.publicKey) ? 1 : 0;
    }
    const n = packed.length;
    const shared: SharedJob = {
      id: this.nextId++,
      records: new SharedArrayBuffer(n * RECORD_BYTES),
      verdicts: new SharedArrayBuffer(n),
      control: new SharedArrayBuffer(4 * (1 + Math.ceil(n / this.chunk))),
      n,
      chunk: this.chunk,
    };
    const records = new Uint8Array(shared.records);
    packed.forEach((idx, r) => {
      const c = items[idx]!;
      records.set(c.signature, r * RECORD_BYTES);
      records.set(c.publicKey, r * RECORD_BYTES + 64);
      records.set(c.message, r * RECORD_BYTES + 96);
    });
    const job: Job = { shared, packed, ok, out: new Set() };
    if (n > 0) {
      for (const slot of this.slots) {
        if (!slot.alive) continue;
        job.out.add(slot);
        slot.worker.postMessage(shared);
      }
      if (job.out.size > 0) this.jobs.set(shared.id, job);
    }
    return { size: items.length, finish: () => this.finish(job) };
  }

  /** Verifies `items` on every thread. */
  verifyAll(items: SignatureCheck[]): Promise<boolean[]> {
    return this.start(items).finish();
  }

  private async finish(job: Job): Promise<boolean[]> {
    const { shared } = job;
    this.counts.main += workOn(shared, this.verify);
    // Wait for the workers still holding chunks (each reports when it finds none left).
    while (job.out.size > 0) await new Promise<void>((r) => (job.wake = r));
    this.jobs.delete(shared.id);
    // Chunks a dead worker claimed and never finished: verified here.
    const control = new Int32Array(shared.control);
    for (let from = 0; from < shared.n; from += shared.chunk) {
      if (Atomics.load(control, 1 + from / shared.chunk) !== DONE) {
        this.counts.main += verifyRange(shared, from, Math.min(shared.n, from + shared.chunk), this.verify);
      }
    }
    const verdicts = new Uint8Array(shared.verdicts);
    job.packed.forEach((idx, r) => (job.ok[idx] = verdicts[r]!));
    return Array.from(job.ok, (b) => b === 1);
  }

  private release(job: Job, slot: Slot): void {
    if (!job.out.delete(slot)) return;
    const w = job.wake;
    job.wake = undefined;
    w?.();
  }

  private reported(slot: Slot, id: number, verified: number): void {
    this.counts.workers += verified;
    const job = this.jobs.get(id);
    if (job) this.release(job, slot);
  }

  /** A worker crashed or was terminated: the jobs stop waiting for it. */
  private lost(slot: Slot): void {
    if (!slot.alive) return;
    slot.alive = false;
    for (const job of this.jobs.values()) this.release(job, slot);
  }

  /** Stops the workers; a job still running finishes on the calling thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.slots.filter((s) => s.alive);
    for (const s of slots) this.lost(s);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
