/**
 * Beacon publication: R_w computed from the relayed headers exactly as
 * core/beacon.ts defines it, stored with its inputs, and never changed once
 * published.
 *
 * R_w reads each sector's anchor for the cutoff `windowEnd(w − 1)` (the last
 * millisecond of window w − 1). The edge publishes R_w only when
 *   - its clock is past that cutoff (`window-not-ended` before): a beacon
 *     known while window w − 1 is still open would let a sender grind a txid
 *     toward friendly sectors before the tx arrives; and
 *   - every sector's anchor is settled, i.e. its best chain holds a block whose
 *     median-time-past is past the cutoff (`beacon-undetermined` before), and
 *     R_{w−1} is published (beacons chain from R_{−1} = H(network id)).
 * Windows are computed in order and each result is stored, so a request costs
 * at most MAX_STEPS windows; a long-idle edge catches up over several calls.
 * @module
 */
import { initialBeacon, beaconHash } from '../core/beacon.js';
import { toHex } from '../core/bytes.js';
import type { NetworkSpec } from '../core/params.js';
import { windowEnd } from '../core/time.js';
import type { AnchorJson, BeaconJson } from '../api/routes.js';
import type { HeaderTree } from './header-tree.js';
import type { Sql } from './sql.js';

/** Windows computed per call at most. */
const MAX_STEPS = 4096;

interface BeaconRow {
  window_no: number;
  beacon: Uint8Array;
  prev: Uint8Array;
  cutoff_ms: number;
  anchors: string;
}

function fromRow(r: BeaconRow): BeaconJson {
  return { window: r.window_no, beacon: toHex(r.beacon), prev: toHex(r.prev), cutoffMs: r.cutoff_ms, anchors: JSON.parse(r.anchors) as AnchorJson[] };
}

export class Beacons {
  private readonly seed: Uint8Array;

  constructor(
    private readonly sql: Sql,
    private readonly spec: NetworkSpec,
    private readonly tree: HeaderTree,
    networkId: Uint8Array,
  ) {
    this.seed = initialBeacon(networkId);
  }

  /** The cutoff of R_w's inputs: the last millisecond of window w − 1. */
  cutoffOf(w: number): number {
    return windowEnd(w - 1, this.spec.genesisTimeMs, this.spec.main.windowMs);
  }

  /** R_w if it is published or can be now; refuses with window-not-ended (404) or beacon-undetermined (409). */
  tryGet(w: number, nowMs: number): { ok: true; value: BeaconJson } | { ok: false; code: string; message: string } {
    if (!Number.isSafeInteger(w) || w < 0) throw new RangeError('window must be a safe integer ≥ 0');
    const stored = this.sql.one<BeaconRow>('SELECT * FROM beacons WHERE window_no = ?', w);
    if (stored) return { ok: true, value: fromRow(stored) };
    if (nowMs <= this.cutoffOf(w)) {
      return { ok: false, code: 'window-not-ended', message: `R_${w} is published after window ${w - 1} ends (at ${this.cutoffOf(w) + 1} ms)` };
    }
    const last = this.sql.one<BeaconRow>('SELECT * FROM beacons ORDER BY window_no DESC LIMIT 1');
    let prev = last ? last.beacon : this.seed;
    const depth = this.spec.main.beaconDepth;
    for (let v = last ? last.window_no + 1 : 0, steps = 0; v <= w; v++, steps++) {
      if (steps === MAX_STEPS) return { ok: false, code: 'beacon-undetermined', message: `catching up: R_${v - 1} computed, call again` };
      const cutoffMs = this.cutoffOf(v);
      const anchors: ReturnType<HeaderTree['anchor']>[] = [];
      // Sector by sector, stopping at the first unsettled one: every request asks while a window waits.
      for (const s of this.spec.sectors) {
        const a = this.tree.anchor(s.id, cutoffMs, depth);
        if (!a.settled) {
          return { ok: false, code: 'beacon-undetermined', message: `R_${v} waits for a block of sector ${s.id} whose median-time-past is past ${cutoffMs}` };
        }
        anchors.push(a);
      }
      const beacon = beaconHash(v, prev, anchors);
      const json = JSON.stringify([...anchors].sort((a, b) => a.sectorId - b.sectorId).map((a) => ({ sectorId: a.sectorId, id: toHex(a.id), height: a.height })));
      this.sql.run('INSERT INTO beacons (window_no, beacon, prev, cutoff_ms, anchors) VALUES (?, ?, ?, ?, ?)', v, beacon, prev, cutoffMs, json);
      prev = beacon;
    }
    return { ok: true, value: fromRow(this.sql.one<BeaconRow>('SELECT * FROM beacons WHERE window_no = ?', w)!) };
  }
}
