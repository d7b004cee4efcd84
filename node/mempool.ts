/**
 * The sector node's mempool: transactions waiting for a block.
 *
 * Policy, not consensus — every rule here only decides what this node keeps
 * and offers to its miner:
 * - admission: context-free validity (`checkTx`, signatures included), then
 *   against the tip's state: the nonce is the sender's next one or a later one
 *   within `maxNonceGap`, and the sender can pay every pending tx up to it;
 * - one tx per (sender, nonce): a new one replaces it only with a fee at least
 *   `replaceBumpPercent` higher;
 * - limits on count and bytes: when full, the lowest fee-rate tx is evicted
 *   if the newcomer pays more, else the newcomer is refused;
 * - expiry: txs older than `expiryMs` are dropped by `expire(now)`;
 * - block templates: highest fee-rate first, each sender's txs in nonce order
 *   from its next nonce, skipping senders whose next tx is missing.
 * Time is passed in; nothing here reads the clock or does I/O.
 * @module
 */
import { toHex } from '../core/bytes.js';
import { fail, ok, type Result } from '../core/errors.js';
import type { Verifier } from '../core/keys.js';
import type { StateView } from '../core/state.js';
import { checkTx, encodeTx, txSender, txSpend, type Tx } from '../core/tx.js';
import type { TxRejectCode } from './penalties.js';

export interface MempoolOptions {
  networkId: Uint8Array;
  /** Sector id (the `chain` every tx must name). */
  chain: number;
  maxCount: number;
  maxBytes: number;
  expiryMs: number;
  /** Highest nonce accepted above the sender's next one. */
  maxNonceGap: number;
  /** A replacement must pay at least this much more, in percent. */
  replaceBumpPercent: number;
  verify?: Verifier;
}

export const DEFAULT_MEMPOOL: Omit<MempoolOptions, 'networkId' | 'chain'> = {
  maxCount: 50_000,
  maxBytes: 16 << 20,
  expiryMs: 60 * 60 * 1000,
  maxNonceGap: 64,
  replaceBumpPercent: 10,
};

export interface PoolEntry {
  tx: Tx;
  txid: string;
  sender: string;
  bytes: number;
  receivedMs: number;
}

/** Fee per byte, compared exactly as a fraction. */
function cheaper(a: PoolEntry, b: PoolEntry): boolean {
  return a.tx.fee * BigInt(b.bytes) < b.tx.fee * BigInt(a.bytes);
}

export class Mempool {
  private readonly byId = new Map<string, PoolEntry>();
  /** sender → nonce → entry. */
  private readonly bySender = new Map<string, Map<bigint, PoolEntry>>();
  private totalBytes = 0;

  constructor(private readonly opts: MempoolOptions) {}

  get size(): number {
    return this.byId.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(txid: string): boolean {
    return this.byId.has(txid);
  }

  get(txid: string): PoolEntry | undefined {
    return this.byId.get(txid);
  }

  entries(): PoolEntry[] {
    return [...this.byId.values()];
  }

  /** The nonce a new tx of `sender` should use: past its confirmed nonce and every consecutive pending one. */
  nextNonce(sender: Uint8Array, view: StateView): bigint {
    let nonce = view.account(sender).nonce;
    const queue = this.bySender.get(toHex(sender));
    while (queue?.has(nonce)) nonce++;
    return nonce;
  }

  /** Pending txs of `sender`, by nonce. */
  pendingOf(sender: Uint8Array): PoolEntry[] {
    return [...(this.bySender.get(toHex(sender))?.values() ?? [])].sort((a, b) => (a.tx.nonce < b.tx.nonce ? -1 : 1));
  }

  /**
   * Admits `tx` against the tip's state. Codes: the `tx-*` codes of checkTx,
   * mempool-duplicate, mempool-nonce-too-low, mempool-nonce-gap,
   * mempool-insufficient-funds, mempool-replacement-underpriced, mempool-full.
   */
  add(tx: Tx, view: StateView, nowMs: number): Result<{ txid: string; replaced?: string; evicted?: string }, TxRejectCode> {
    const valid = checkTx(tx, { networkId: this.opts.networkId, chain: this.opts.chain, verify: this.opts.verify });
    if (!valid.ok) return valid;
    const txid = toHex(valid.value);
    if (this.byId.has(txid)) return fail('mempool-duplicate', `tx ${txid} is already pending`);
    const senderBytes = txSender(tx);
    const sender = toHex(senderBytes);
    const account = view.account(senderBytes);
    if (tx.nonce < account.nonce) return fail('mempool-nonce-too-low', `nonce ${tx.nonce} < next ${account.nonce}`);
    if (tx.nonce > account.nonce + BigInt(this.opts.maxNonceGap)) {
      return fail('mempool-nonce-gap', `nonce ${tx.nonce} more than ${this.opts.maxNonceGap} above next ${account.nonce}`);
    }
    const queue = this.bySender.get(sender);
    const existing = queue?.get(tx.nonce);
    const entry: PoolEntry = { tx, txid, sender, bytes: encodeTx(tx).length, receivedMs: nowMs };
    if (existing) {
      const bump = (existing.tx.fee * BigInt(100 + this.opts.replaceBumpPercent) + 99n) / 100n;
      if (tx.fee < bump) {
        return fail('mempool-replacement-underpriced', `replacing nonce ${tx.nonce} needs a fee ≥ ${bump}, got ${tx.fee}`);
      }
    }
    // The sender must afford every pending tx up to this one (with this one replacing any at its nonce).
    let spend = txSpend(tx);
    for (const [nonce, e] of queue ?? []) if (nonce < tx.nonce) spend += txSpend(e.tx);
    if (spend > account.balance) {
      return fail('mempool-insufficient-funds', `pending spend ${spend} above balance ${account.balance}`);
    }
    let evicted: string | undefined;
    if (!existing && (this.byId.size >= this.opts.maxCount || this.totalBytes + entry.bytes > this.opts.maxBytes)) {
      const victim = this.cheapestEvictable();
      if (!victim || !cheaper(victim, entry)) return fail('mempool-full', 'the pool is full of txs paying at least as much');
      this.removeEntry(victim);
      evicted = victim.txid;
    }
    if (existing) this.removeEntry(existing);
    this.insert(entry);
    return ok({ txid, ...(existing ? { replaced: existing.txid } : {}), ...(evicted ? { evicted } : {}) });
  }

  /** The lowest fee-rate tx that is the last of its sender's queue (evicting it leaves no gap). */
  private cheapestEvictable(): PoolEntry | undefined {
    let worst: PoolEntry | undefined;
    for (const queue of this.bySender.values()) {
      let last: PoolEntry | undefined;
      for (const e of queue.values()) if (!last || e.tx.nonce > last.tx.nonce) last = e;
      if (last && (!worst || cheaper(last, worst))) worst = last;
    }
    return worst;
  }

  private insert(e: PoolEntry): void {
    this.byId.set(e.txid, e);
    let queue = this.bySender.get(e.sender);
    if (!queue) this.bySender.set(e.sender, (queue = new Map()));
    queue.set(e.tx.nonce, e);
    this.totalBytes += e.bytes;
  }

  private removeEntry(e: PoolEntry): void {
    this.byId.delete(e.txid);
    const queue = this.bySender.get(e.sender);
    queue?.delete(e.tx.nonce);
    if (queue && queue.size === 0) this.bySender.delete(e.sender);
    this.totalBytes -= e.bytes;
  }

  remove(txid: string): boolean {
    const e = this.byId.get(txid);
    if (!e) return false;
    this.removeEntry(e);
    return true;
  }

  /**
   * After a new tip: drops txs the chain now includes and txs whose nonce is
   * below their sender's next nonce (spent by another tx).
   */
  pruneAfterConnect(includedTxids: Iterable<string>, view: StateView): string[] {
    const removed: string[] = [];
    for (const id of includedTxids) if (this.remove(id)) removed.push(id);
    for (const e of [...this.byId.values()]) {
      if (e.tx.nonce < view.account(txSender(e.tx)).nonce) {
        this.removeEntry(e);
        removed.push(e.txid);
      }
    }
    return removed;
  }

  /** Drops txs received before `nowMs − expiryMs`; returns their ids. */
  expire(nowMs: number): string[] {
    const removed: string[] = [];
    for (const e of [...this.byId.values()]) {
      if (e.receivedMs < nowMs - this.opts.expiryMs) {
        this.removeEntry(e);
        removed.push(e.txid);
      }
    }
    return removed;
  }

  /**
   * Txs for a block template on `view`: repeatedly the highest fee-rate tx
   * among each sender's next-in-nonce-order tx, within the count and byte limits.
   */
  selectForBlock(view: StateView, maxTxs: number, maxBytes: number): Tx[] {
    const next = new Map<string, bigint>();
    const heads: PoolEntry[] = [];
    const headOf = (sender: string) => {
      const queue = this.bySender.get(sender);
      const e = queue?.get(next.get(sender)!);
      if (e) heads.push(e);
    };
    for (const [sender, queue] of this.bySender) {
      const first = queue.values().next().value as PoolEntry;
      next.set(sender, view.account(txSender(first.tx)).nonce);
      headOf(sender);
    }
    const out: Tx[] = [];
    let bytes = 0;
    while (heads.length > 0 && out.length < maxTxs) {
      let best = 0;
      for (let i = 1; i < heads.length; i++) if (cheaper(heads[best]!, heads[i]!)) best = i;
      const e = heads.splice(best, 1)[0]!;
      if (bytes + e.bytes > maxBytes) continue;
      out.push(e.tx);
      bytes += e.bytes;
      next.set(e.sender, e.tx.nonce + 1n);
      headOf(e.sender);
    }
    return out;
  }
}
