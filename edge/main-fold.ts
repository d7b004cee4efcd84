/**
 * The edge's MAIN fold: the same core functions every node runs
 * (core/main-ledger.ts), over the edge's own header trees and the record
 * reports it verified. Its root per window is published so that nodes can
 * compare; it is never what a node believes.
 *
 * Windows that hold txs fold in order once decided on the edge's chains (at
 * most `maxPerCall` per call, so a backlog never stalls one request). Only
 * what moves a best chain can decide a window, so the coordinator calls
 * `advance` after header relays and timer wake-ups, not on every request.
 * Each folded window's root and outcome go to `main_windows`, the ledger
 * after it to `main_ledger`, in the request's transaction: a crash loses
 * nothing and folds nothing twice.
 * @module
 */
import type { Verifier } from '../core/keys.js';
import {
  decideAndFold,
  ledgerFromJson,
  ledgerToJson,
  mainStateRoot,
  newLedger,
  type LedgerJson,
  type MainLedger,
} from '../core/main-ledger.js';
import type { NetworkSpec } from '../core/params.js';
import { windowResultJson, type WindowResultJson } from '../api/main.js';
import type { Assignments } from './assignments.js';
import type { HeaderTree } from './header-tree.js';
import type { Sql } from './sql.js';

export class MainFold {
  /** The ledger after the last folded window and its root, read once per instance. */
  private cached: { ledger: MainLedger; root: Uint8Array } | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly spec: NetworkSpec,
    private readonly tree: HeaderTree,
    private readonly assignments: Assignments,
    private readonly networkId: Uint8Array,
    private readonly verify?: Verifier,
    private readonly maxPerCall = 8,
  ) {}

  /** The ledger after the last folded window and its root. */
  state(): { ledger: MainLedger; root: Uint8Array } {
    if (this.cached) return this.cached;
    const row = this.sql.one<{ state: string }>('SELECT state FROM main_ledger WHERE id = 1');
    const ledger = row ? ledgerFromJson(JSON.parse(row.state) as LedgerJson, this.spec) : newLedger(this.spec);
    this.cached = { ledger, root: mainStateRoot(ledger) };
    return this.cached;
  }

  /** The last window decided on the edge's chains: every sector settled through it + recordWindows. */
  decidedThrough(): number {
    const settled = Math.min(...this.spec.sectors.map((s) => this.tree.settledThrough(s.id)));
    return settled - this.spec.main.recordWindows;
  }

  /** Folds the decided windows that hold txs, in order; the results folded now. */
  advance(nowMs: number): WindowResultJson[] {
    const out: WindowResultJson[] = [];
    const decided = this.decidedThrough();
    let { ledger } = this.state();
    for (const w of this.assignments.windowsWithTxs(ledger.window, this.maxPerCall)) {
      if (w > decided) break;
      const data = this.assignments.windowData(w);
      if (data === undefined) break;
      // Folded on a copy: a failure below leaves the cached ledger as the database has it.
      const folded = decideAndFold(ledger, data, this.tree, this.spec, { networkId: this.networkId, verify: this.verify });
      if (folded === undefined) break;
      const { ledger: next, result } = folded;
      const json = windowResultJson(result, folded.ignored);
      this.sql.run('INSERT INTO main_windows (window_no, root, result, folded_ms) VALUES (?, ?, ?, ?)', w, result.root, JSON.stringify(json), nowMs);
      this.sql.run('INSERT OR REPLACE INTO main_ledger (id, window_no, state) VALUES (1, ?, ?)', w, JSON.stringify(ledgerToJson(next)));
      this.cached = { ledger: next, root: result.root };
      ledger = next;
      out.push(json);
    }
    return out;
  }

  /** Forgets the cached ledger (the transaction that folded into it rolled back). */
  reset(): void {
    this.cached = undefined;
  }

  /** The root after window w, once every window ≤ w that holds txs is folded; null before. */
  rootAt(w: number): Uint8Array | null {
    const { ledger } = this.state();
    if (w > ledger.window && this.assignments.windowsWithTxs(ledger.window, 1).some((x) => x <= w)) return null;
    if (w > this.decidedThrough() && w > ledger.window) return null;
    const row = this.sql.one<{ root: Uint8Array }>('SELECT root FROM main_windows WHERE window_no <= ? ORDER BY window_no DESC LIMIT 1', w);
    return row ? new Uint8Array(row.root) : mainStateRoot(newLedger(this.spec));
  }
}
