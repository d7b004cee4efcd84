/**
 * The node's own MAIN ledger (DESIGN §5 "data, not trust"): it fetches each
 * window's txs and record proofs from the edge (`GET /v1/main/windows/:w`),
 * decides the window on its own header view of every sector (core
 * `decideWindow`: every signature, lock and inclusion proof rechecked), folds
 * it (core `foldWindow`) and stores the result in its SQLite store. The
 * edge's root is compared, never adopted: a difference is a
 * `main-root-mismatch` event, counted in `status()` (and so in
 * `pouw main status`, whose `--strict` exits non-zero on it).
 *
 * A window is folded only once this node's view has every sector settled
 * through w + recordWindows, and only while the view still reaches every
 * block the window's data names (`headers-pruned` otherwise: a record in a
 * block below what the view holds would count as missing, so it stops
 * rather than fold a wrong root). A full step is followed at
 * once by the next, so catching up is not held to one step a poll. Windows are fetched one at a time and only the
 * ledger is kept in memory, so catching up many windows never holds them
 * all. Polls every `pollMs`; `step()` runs one round (tests call it).
 *
 * The draw's beacon R_{w+1} in the window data must be the one the node's
 * own view recomputed, where the view holds it (`beacon-mismatch`
 * otherwise, nothing folded); a node whose view has no beacon that far back
 * takes the edge's, and the records still count only from blocks on its
 * own best chains.
 *
 * What it cannot do: tell whether the edge left a window, or a record, out.
 * Such an omission shows as a root the edge itself would not publish (an
 * honest edge folds what it lists) or is caught only by comparing with
 * another source; docs/security.md says so.
 * @module
 */
import type { EdgeApi } from '../api/client.js';
import { windowResultJson, type WindowResultJson } from '../api/main.js';
import { equalBytes, fromHex, toHex } from '../core/bytes.js';
import {
  balanceOf,
  decideAndFold,
  ledgerFromJson,
  ledgerToJson,
  mainStateRoot,
  newLedger,
  type LedgerJson,
  type MainLedger,
  type Release,
  type WindowData,
} from '../core/main-ledger.js';
import type { TaskEscrow, TaskLookup } from '../core/task.js';
import { lockSector } from '../core/lock.js';
import type { Block } from '../core/block.js';
import { decodeSettlement, matchSettlements, recyclesOf, releasesOf, type ReleaseLookup } from '../core/settlement.js';
import { endsRecycleEpoch, recycleOwed, treasuryAddress } from '../core/state-transition.js';
import type { NetworkSpec, SectorParams } from '../core/params.js';
import type { Verifier } from '../core/keys.js';
import type { AccountState } from '../core/state.js';
import type { HeaderView } from './header-view.js';
import type { MainOutcome, MainTable } from './store.js';

export type MainViewEvent =
  | { type: 'main-window'; window: number; root: string; applied: number; void: number; edgeRoot: string | null }
  | { type: 'main-root-mismatch'; window: number; root: string; edgeRoot: string }
  | { type: 'main-fetch-failed'; window: number | null; code: string }
  /** Every release of windows ≤ `window` is known now: blocks held for their settlements can be judged. */
  | { type: 'main-complete'; window: number };

export interface MainViewOptions {
  spec: NetworkSpec;
  networkId: Uint8Array;
  api: EdgeApi;
  view: HeaderView;
  store: MainTable;
  verify?: Verifier;
  pollMs?: number;
  now?: () => number;
}

export interface MainViewStatus {
  /** The last window folded here (−1: none), and the last one our view has decided. */
  window: number;
  decidedThrough: number;
  /** Every window ≤ this one is folded (those without txs included): what settlements are judged against. */
  completeThrough: number;
  root: string;
  /** Folded windows whose edge root agreed, differed, or is not published yet. */
  windows: number;
  mismatches: number;
  /** The edge's root for our last folded window, and whether it agrees. */
  edgeRoot: string | null;
  agree: boolean | null;
}

export interface MainAudit {
  windows: number;
  /** Release settlements found on this node's best chain, each checked against the fold, and recycle entries rechecked (`auditSettlements`). */
  settlements?: number;
  recycles?: number;
  problems: {
    window: number;
    code: 'window-unavailable' | 'window-undecided' | 'root-mismatch' | 'ledger-mismatch' | 'settlement-mismatch' | 'settlement-count' | 'recycle-mismatch';
    detail: string;
  }[];
  ok: boolean;
}

/** What `auditSettlements` reads of a sector chain. */
export interface SettledChain {
  tip(): { height: number } | undefined;
  idAtHeight(height: number): Uint8Array | undefined;
  getBlock(id: Uint8Array): Block | undefined;
  account(address: Uint8Array): AccountState;
}

/**
 * The settlements half of `pouw treasury audit`: walks this sector's best
 * chain from genesis; its release settlements must count on from 0 without a
 * gap, each exactly the fold's release of that seq, and the treasury's nonce
 * must be their number. Each epoch's recycle entries are recomputed from the
 * epoch's blocks: an amount above ⌈income · bps / 10,000⌉ is listed. An
 * amount below it, or no entry, is the balance cap, which needs the state of
 * that height to check: the state transition enforced it when the block
 * connected (`bad-recycle`), the audit does not repeat that.
 */
export function auditSettlements(
  chain: SettledChain,
  sector: SectorParams,
  lookup: ReleaseLookup,
): { settlements: number; recycles: number; problems: MainAudit['problems'] } {
  const problems: MainAudit['problems'] = [];
  let next = 0n;
  let recycles = 0;
  const top = chain.tip()?.height ?? 0;
  const blockAt = (h: number) => chain.getBlock(chain.idAtHeight(h)!)!;
  for (let h = 1; h <= top; h++) {
    const block = blockAt(h);
    const settlements = block.body.settlements.map(decodeSettlement);
    for (const s of releasesOf(settlements)) {
      const r = matchSettlements([s], lookup);
      if (s.seq !== next) problems.push({ window: s.window, code: 'settlement-count', detail: `block ${h} settles release ${s.seq}, expected ${next}` });
      else if (!r.ok || r.value !== 'ok') problems.push({ window: s.window, code: 'settlement-mismatch', detail: `block ${h}: ${r.ok ? `release ${s.seq} is not in this fold` : r.detail}` });
      next = s.seq + 1n;
    }
    if (!endsRecycleEpoch(sector, h)) continue;
    const epoch = Array.from({ length: sector.recycle.epochBlocks }, (_, i) => blockAt(h - sector.recycle.epochBlocks + 1 + i));
    const got = recyclesOf(settlements);
    for (const hex of sector.recycle.accounts) {
      const account = fromHex(hex);
      const owed = recycleOwed(epoch, sector, account);
      const entry = got.find((e) => toHex(e.account) === hex);
      if (entry) recycles++;
      if (entry && entry.amount > owed) problems.push({ window: -1, code: 'recycle-mismatch', detail: `block ${h}: ${hex} recycled ${entry.amount}, owed at most ${owed}` });
    }
  }
  const nonce = chain.account(treasuryAddress(sector.id)).nonce;
  if (nonce !== next) problems.push({ window: -1, code: 'settlement-count', detail: `the treasury counts ${nonce} applied releases, the chain holds ${next}` });
  return { settlements: Number(next), recycles, problems };
}

/** Windows folded per step at most. */
const STEP_WINDOWS = 64;

export class MainView {
  private ledger: MainLedger;
  /** mainStateRoot of `ledger`: computed at load, then taken from each fold. */
  private rootNow: Uint8Array;
  /** Every window ≤ this one folded: the edge listed none after the ledger's window up to it. Conservative at start. */
  private complete: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stepping: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(e: MainViewEvent) => void>();

  constructor(private readonly options: MainViewOptions) {
    const stored = options.store.ledger();
    this.ledger = stored ? ledgerFromJson(JSON.parse(stored.state) as LedgerJson, options.spec) : newLedger(options.spec);
    this.rootNow = mainStateRoot(this.ledger);
    this.complete = this.ledger.window;
  }

  on(fn: (e: MainViewEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: MainViewEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = () => {
      if (!this.running) return;
      let full = false;
      this.stepping = this.step(STEP_WINDOWS).then(
        (folded) => void (full = folded.length === STEP_WINDOWS),
        (e: unknown) => this.emit({ type: 'main-fetch-failed', window: null, code: (e as Error)?.message ?? 'error' }),
      );
      // A full step means more is decided: catching up goes on at once, not a poll later.
      void this.stepping.finally(() => {
        if (this.running) this.timer = setTimeout(tick, full ? 0 : (this.options.pollMs ?? 1000));
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.stepping;
  }

  /**
   * Can our header view judge every block the window's data names? A block
   * below the lowest header the view holds of its sector (pruned, or before
   * the view's first header) could be on the best chain without the view
   * knowing; at or above it, the view tells.
   */
  private covers(data: WindowData): boolean {
    const { view } = this.options;
    const reaches = (sectorId: number, height: number) => {
      const base = view.sector(sectorId)?.base().header;
      return base !== undefined && height >= base.height;
    };
    return data.records.every((r) => reaches(r.sectorId, r.header.height)) && data.conversions.every((c) => reaches(lockSector(c.lock), c.originHeight));
  }

  /** What our ledger knows of task `id` (hex): the task, if final, and the last window we know complete (core/task.ts). */
  task(id: string): TaskLookup {
    return { foldedWindow: this.complete, task: this.ledger.tasks.get(id) };
  }

  /** Open gemm-i8 tasks of a sector that a block of window `window` may mine (core `matmulTaskVerdict`), in id order. */
  minableTasks(sectorId: number, window: number): TaskEscrow[] {
    return [...this.ledger.tasks.values()]
      .filter((t) => t.sector === sectorId && t.work === 'gemm-i8' && t.status === 'open' && t.window < window && window <= t.deadline)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Every task the ledger holds, newest first. */
  tasks(): TaskEscrow[] {
    return [...this.ledger.tasks.values()].sort((a, b) => b.window - a.window || (a.id < b.id ? -1 : 1));
  }

  /** The last window every sector of our view is settled past (by recordWindows). */
  decidedThrough(): number {
    const { spec, view } = this.options;
    return Math.min(...spec.sectors.map((s) => view.settledThrough(s.id))) - spec.main.recordWindows;
  }

  /** One round: fold what is decided (at most `max` windows), then fill in edge roots published since. */
  async step(max = 64): Promise<WindowResultJson[]> {
    const out: WindowResultJson[] = [];
    const { api, spec, store } = this.options;
    const decided = this.decidedThrough();
    if (decided > this.complete) {
      const limit = Math.min(max, 1000);
      const list = await api.call('main-windows', { query: { after: this.ledger.window, limit } }).catch(() => undefined);
      if (list === undefined || !list.ok) {
        this.emit({ type: 'main-fetch-failed', window: null, code: list?.ok === false ? list.code : 'edge-unreachable' });
        return out;
      }
      const listed = list.value.windows;
      // Complete through `decided` once every listed window up to it is folded and the list did not stop short of it.
      let complete = listed.length < limit || listed[listed.length - 1]! > decided ? decided : -Infinity;
      for (const w of listed) {
        if (w > decided || w <= this.ledger.window) break;
        const got = await api.call('main-window', { params: { window: w } }).catch(() => undefined);
        if (got === undefined || !got.ok) {
          this.emit({ type: 'main-fetch-failed', window: w, code: got?.ok === false ? got.code : 'edge-unreachable' });
          complete = -Infinity;
          break;
        }
        // Our view must still hold every sector's blocks from the window's start on, or records it cannot see would count as missing.
        if (!this.covers(got.value.data)) {
          this.emit({ type: 'main-fetch-failed', window: w, code: 'headers-pruned' });
          complete = -Infinity;
          break;
        }
        // The draw's beacon R_{w+1} is ours to recompute: where our view has it, the edge's must be the same.
        const own = this.options.view.beacon(w + 1);
        if (own !== undefined && !equalBytes(own.beacon, got.value.data.beacon)) {
          this.emit({ type: 'main-fetch-failed', window: w, code: 'beacon-mismatch' });
          complete = -Infinity;
          break;
        }
        const folded = decideAndFold(this.ledger, got.value.data, this.options.view, spec, { networkId: this.options.networkId, verify: this.options.verify });
        if (folded === undefined) {
          complete = -Infinity;
          break;
        }
        const { ledger: next, result } = folded;
        const json = windowResultJson(result, folded.ignored);
        const edgeRoot = got.value.root;
        const outcomes: MainOutcome[] = [...json.applied.map((x) => ({ ...x, status: 'applied' as const })), ...json.void.map((x) => ({ ...x, status: 'void' as const }))];
        store.saveWindow({ window: w, root: result.root, edgeRoot, result: JSON.stringify(json), foldedMs: (this.options.now ?? Date.now)() }, outcomes, JSON.stringify(ledgerToJson(next)), result.releases);
        this.ledger = next;
        this.rootNow = result.root;
        out.push(json);
        this.emit({ type: 'main-window', window: w, root: toHex(result.root), applied: json.applied.length, void: json.void.length, edgeRoot: edgeRoot && toHex(edgeRoot) });
        if (edgeRoot && !equalBytes(edgeRoot, result.root)) this.emit({ type: 'main-root-mismatch', window: w, root: toHex(result.root), edgeRoot: toHex(edgeRoot) });
      }
      const through = Math.max(this.ledger.window, complete);
      if (through > this.complete) {
        this.complete = through;
        this.emit({ type: 'main-complete', window: through });
      }
    }
    // Windows we folded before the edge did: their edge root, once published.
    for (const w of store.awaitingEdgeRoot(8)) {
      const got = await api.call('main-window', { params: { window: w } }).catch(() => undefined);
      if (got === undefined || !got.ok || got.value.root === null) break;
      store.setEdgeRoot(w, got.value.root);
      const mine = store.window(w)!.root;
      if (!equalBytes(mine, got.value.root)) this.emit({ type: 'main-root-mismatch', window: w, root: toHex(mine), edgeRoot: toHex(got.value.root) });
    }
    return out;
  }

  /**
   * `pouw treasury audit`: refolds every stored window from an empty ledger
   * out of chain data (the window data fetched again, every proof rechecked
   * on our view) and compares each root, and the ledger at the end, with what
   * the store holds. Any difference, a window that cannot be refetched or
   * redecided, or a stored ledger that is not the refolded one, is listed.
   */
  async audit(): Promise<MainAudit> {
    const { api, spec, store } = this.options;
    let ledger = newLedger(spec);
    const problems: MainAudit['problems'] = [];
    let windows = 0;
    for (let after = -1; ; ) {
      const rows = store.windowsAfter(after, 256);
      if (rows.length === 0) break;
      for (const row of rows) {
        after = row.window;
        windows++;
        const got = await api.call('main-window', { params: { window: row.window } }).catch(() => undefined);
        if (got === undefined || !got.ok) {
          problems.push({ window: row.window, code: 'window-unavailable', detail: got?.ok === false ? got.code : 'edge-unreachable' });
          return { windows, problems, ok: false };
        }
        const folded = decideAndFold(ledger, got.value.data, this.options.view, spec, { networkId: this.options.networkId, verify: this.options.verify });
        if (folded === undefined) {
          problems.push({ window: row.window, code: 'window-undecided', detail: 'our header view no longer decides this window' });
          return { windows, problems, ok: false };
        }
        ledger = folded.ledger;
        if (!equalBytes(folded.result.root, row.root)) {
          problems.push({ window: row.window, code: 'root-mismatch', detail: `stored ${toHex(row.root)}, recomputed ${toHex(folded.result.root)}` });
        }
      }
    }
    const stored = store.ledger();
    const refolded = JSON.stringify(ledgerToJson(ledger));
    if ((stored?.state ?? JSON.stringify(ledgerToJson(newLedger(spec)))) !== refolded) {
      problems.push({ window: ledger.window, code: 'ledger-mismatch', detail: 'the stored ledger (balances, treasury, pools) is not the refolded one' });
    }
    return { windows, problems, ok: problems.length === 0 };
  }

  /** Every window ≤ this one is folded. */
  get completeThrough(): number {
    return this.complete;
  }

  /** What this fold knows of sector `sectorId`'s releases: what its blocks' settlements are judged by, and taken from. */
  releases(sectorId: number): ReleaseLookup & { from(seq: bigint, limit: number): Release[] } {
    const { store } = this.options;
    return {
      completeThrough: this.complete,
      release: (seq) => store.release(sectorId, seq),
      from: (seq, limit) => store.releasesFrom(sectorId, seq, limit),
    };
  }

  /** The ledger after the last folded window (do not mutate). */
  get current(): MainLedger {
    return this.ledger;
  }

  /** Its root. */
  get root(): Uint8Array {
    return this.rootNow;
  }

  account(address: Uint8Array): AccountState {
    return balanceOf(this.ledger, address);
  }

  status(): MainViewStatus {
    const { store } = this.options;
    const last = store.window(this.ledger.window);
    const edgeRoot = last?.edgeRoot ?? null;
    const root = this.rootNow;
    return {
      window: this.ledger.window,
      decidedThrough: this.decidedThrough(),
      completeThrough: this.complete,
      root: toHex(root),
      windows: store.count(),
      mismatches: store.mismatches(),
      edgeRoot: edgeRoot && toHex(edgeRoot),
      agree: edgeRoot ? equalBytes(edgeRoot, root) : null,
    };
  }
}
