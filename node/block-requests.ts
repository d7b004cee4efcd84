/**
 * The blocks a node has asked its peers for and not yet received: bounded in
 * number, each tied to the peer asked, and released when that peer stalls or
 * leaves, so the block can be asked of another peer.
 *
 * - At most `max` ids are outstanding; `room()` says how many more may be
 *   asked for now (sync asks for the rest once blocks come in).
 * - A request expires `timeoutMs` after the later of when it was made and
 *   when its peer last delivered a block it had been asked for: a peer working
 *   through a long list is not timed out, one that stopped answering is.
 * - A peer that disconnects releases all its requests at once.
 * Expired or released ids are no longer "requested", so the next headers or
 * inv that names them fetches them again. Time comes from `now`; nothing here
 * sends messages.
 * @module
 */

export interface BlockRequestsOptions {
  /** Most outstanding requests (default 4096). */
  max?: number;
  /** Stall timeout in ms (default 30 000). */
  timeoutMs?: number;
  now?: () => number;
}

interface Entry<P> {
  peer: P;
  atMs: number;
}

export class BlockRequests<P> {
  readonly max: number;
  readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly byId = new Map<string, Entry<P>>();
  private readonly lastDelivery = new Map<P, number>();
  private readonly perPeer = new Map<P, number>();

  constructor(opts: BlockRequestsOptions = {}) {
    this.max = opts.max ?? 4096;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    if (!Number.isSafeInteger(this.max) || this.max < 1) throw new RangeError('max is a positive integer');
    if (!(this.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
  }

  get size(): number {
    return this.byId.size;
  }

  /** How many more ids may be requested now. */
  room(): number {
    return Math.max(0, this.max - this.byId.size);
  }

  /** Outstanding requests to `peer`. */
  countFor(peer: P): number {
    return this.perPeer.get(peer) ?? 0;
  }

  private expired(e: Entry<P>, now: number): boolean {
    return now - Math.max(e.atMs, this.lastDelivery.get(e.peer) ?? 0) >= this.timeoutMs;
  }

  /** Whether `id` is outstanding (and not expired). */
  has(id: string): boolean {
    const e = this.byId.get(id);
    return e !== undefined && !this.expired(e, this.now());
  }

  /** Records a request for `id` to `peer`; false (nothing recorded) when it is outstanding already or there is no room. */
  add(id: string, peer: P): boolean {
    const e = this.byId.get(id);
    if (e && !this.expired(e, this.now())) return false;
    if (e) this.remove(id, e);
    if (this.byId.size >= this.max) return false;
    this.byId.set(id, { peer, atMs: this.now() });
    this.perPeer.set(peer, this.countFor(peer) + 1);
    return true;
  }

  /**
   * A block arrived: clears its request. When `from` was the peer asked, that
   * peer counts as making progress. Returns whether the block had been asked of `from`.
   */
  received(id: string, from?: P): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    this.remove(id, e);
    if (from === undefined || e.peer !== from) return false;
    this.lastDelivery.set(from, this.now());
    return true;
  }

  private remove(id: string, e: Entry<P>): void {
    this.byId.delete(id);
    const n = this.countFor(e.peer) - 1;
    if (n > 0) this.perPeer.set(e.peer, n);
    else {
      this.perPeer.delete(e.peer);
      this.lastDelivery.delete(e.peer);
    }
  }

  /** Releases every request to `peer` (it disconnected); returns the ids. */
  dropPeer(peer: P): string[] {
    const ids: string[] = [];
    for (const [id, e] of this.byId) if (e.peer === peer) ids.push(id);
    for (const id of ids) this.remove(id, this.byId.get(id)!);
    this.lastDelivery.delete(peer);
    return ids;
  }

  /** Removes the expired requests; returns them with the peer each was asked of. */
  expire(): { id: string; peer: P }[] {
    const now = this.now();
    const out: { id: string; peer: P }[] = [];
    for (const [id, e] of this.byId) if (this.expired(e, now)) out.push({ id, peer: e.peer });
    for (const { id } of out) this.remove(id, this.byId.get(id)!);
    return out;
  }
}
