/**
 * Each sector's header tree as the edge sees it, in SQL: every relayed header
 * that passed the checks, its median-time-past and cumulative work, and the
 * best chain (most cumulative work; the first seen wins a tie) as one row per
 * height.
 *
 * A header is accepted when, in order:
 *   - it names the sector it was posted for (`bad-sector`), with version 1
 *     (`bad-version`) and a work kind the sector allows (`bad-work-kind`);
 *   - its parent is in the tree (`unknown-parent`);
 *   - its proof of work holds (`checkHeaderWork`: `bad-bits`, `high-hash`;
 *     for a matmul header, the tile of the work proof relayed with it,
 *     `bad-work-proof`, `lottery-*`). Whether a matmul block's task is real
 *     is a body rule (the MAIN ledger's), so the sector's nodes judge it;
 *     the tile proves the work was done, as a hash does;
 *   - it fits its parent and the clock (`checkHeaderContext`: `bad-height`,
 *     `bad-diffbits` against ASERT from genesis, `time-too-old` against the
 *     parent's median-time-past, `time-too-new` against the edge's clock).
 * Bodies are never seen here, so body rules are the nodes' business; the edge
 * checks everything a header alone can prove.
 *
 * Cheap headers at the easiest bits cannot flood it (the coordinator applies
 * this per batch): a batch whose last new header leaves its branch more than
 * `forkMarginBlocks` tip-difficulty blocks below the best tip's work is
 * refused (`low-work-branch`), side-branch headers (not on the best chain)
 * are capped per sector and per relaying key (`side-branch-full`), and only
 * headers the batch placed on the best chain are fanned out — a reorg's whole
 * new branch, side headers stored earlier included, so that every view can
 * connect it.
 *
 * Genesis headers are the spec's and are seeded, not relayed.
 * @module
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { genesisBlock } from '../core/genesis.js';
import { blockId, encodeHeader, HEADER_VERSION, type BlockHeader } from '../core/header.js';
import { decodeWorkHeader, encodeWorkHeader } from '../core/task.js';
import type { NetworkSpec, SectorParams } from '../core/params.js';
import { workOfAcceptedBits } from '../core/target.js';
import { medianTimePast } from '../core/time.js';
import { checkHeaderContext, checkHeaderWork, expectedBits } from '../core/validate.js';
import { reject, unwrap } from '../api/errors.js';
import { WORK_DIGITS } from './schema.js';
import type { Sql } from './sql.js';
import { settledThrough, type ChainView } from '../core/main-ledger.js';

export interface TreeHeader {
  id: Uint8Array;
  sectorId: number;
  height: number;
  prevId: Uint8Array;
  header: BlockHeader;
  /** A matmul header's work proof (empty for hash headers), stored after the header's bytes. */
  workProof: Uint8Array;
  mtpMs: number;
  /** Cumulative work from genesis. */
  work: bigint;
}

interface HeaderRow {
  id: Uint8Array;
  sector_id: number;
  height: number;
  prev_id: Uint8Array;
  header: Uint8Array;
  mtp_ms: number;
  work: string;
}

const HEADER_COLUMNS = 'id, sector_id, height, prev_id, header, mtp_ms, work';

function fromRow(r: HeaderRow): TreeHeader {
  return {
    id: r.id,
    sectorId: r.sector_id,
    height: r.height,
    prevId: r.prev_id,
    ...decodeWorkHeader(r.header),
    mtpMs: r.mtp_ms,
    work: BigInt(r.work),
  };
}

/** Zero-padded decimal, so text order is numeric order. */
export function workText(work: bigint): string {
  return work.toString().padStart(WORK_DIGITS, '0');
}

export class HeaderTree implements ChainView {
  private readonly genesis = new Map<number, BlockHeader>();

  constructor(
    private readonly sql: Sql,
    private readonly spec: NetworkSpec,
  ) {
    for (const s of spec.sectors) this.genesis.set(s.id, genesisBlock(spec, s).header);
  }

  /** Writes each sector's genesis header and best-chain row if missing. */
  seed(nowMs: number): void {
    for (const s of this.spec.sectors) {
      const h = this.genesis.get(s.id)!;
      // Genesis is fixed by the spec, so its work is not checked.
      const id = blockId(h);
      if (this.get(id)) continue;
      this.sql.run(
        `INSERT INTO headers (${HEADER_COLUMNS}, time_ms, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        id,
        s.id,
        0,
        h.prevHash,
        encodeHeader(h),
        h.timeMs,
        workText(workOfAcceptedBits(h.bits)),
        h.timeMs,
        nowMs,
      );
      this.sql.run('INSERT INTO best_chain (sector_id, height, id, mtp_ms) VALUES (?, 0, ?, ?)', s.id, id, h.timeMs);
    }
  }

  get(id: Uint8Array): TreeHeader | undefined {
    const r = this.sql.one<HeaderRow>(`SELECT ${HEADER_COLUMNS} FROM headers WHERE id = ?`, id);
    return r && fromRow(r);
  }

  /** The tip of a sector's best chain. */
  tip(sectorId: number): TreeHeader {
    const r = this.sql.one<HeaderRow>(
      `SELECT ${HEADER_COLUMNS.split(', ').map((c) => `h.${c}`).join(', ')} FROM best_chain b JOIN headers h ON h.id = b.id
       WHERE b.sector_id = ? ORDER BY b.height DESC LIMIT 1`,
      sectorId,
    );
    if (r === undefined) throw new RangeError(`sector ${sectorId} has no seeded genesis`);
    return fromRow(r);
  }

  /** Up to `count` headers of a sector's best chain from height `from` up, in height order. */
  range(sectorId: number, from: number, count: number): TreeHeader[] {
    return this.sql
      .all<HeaderRow>(
        `SELECT ${HEADER_COLUMNS.split(', ').map((c) => `h.${c}`).join(', ')} FROM best_chain b JOIN headers h ON h.id = b.id
         WHERE b.sector_id = ? AND b.height >= ? ORDER BY b.height LIMIT ?`,
        sectorId,
        from,
        count,
      )
      .map(fromRow);
  }

  // The MAIN fold's view of the chains (core/main-ledger.ts ChainView).
  bestBlock(sectorId: number, id: Uint8Array): { header: BlockHeader; confirmations: number } | undefined {
    const h = this.get(id);
    if (h === undefined || h.sectorId !== sectorId) return undefined;
    const c = this.confirmations(h);
    return c > 0 ? { header: h.header, confirmations: c } : undefined;
  }

  settledThrough(sectorId: number): number {
    const depth = this.spec.main.mainConfirmations;
    const r = this.sql.one<{ mtp_ms: number }>('SELECT mtp_ms FROM best_chain WHERE sector_id = ? ORDER BY height DESC LIMIT 1 OFFSET ?', sectorId, depth - 1);
    return settledThrough(r?.mtp_ms ?? null, this.spec);
  }

  /** Confirmations of a header: 1 for the tip, 0 when it is not on the best chain. */
  confirmations(h: TreeHeader): number {
    return this.onBest(h) ? this.tip(h.sectorId).height - h.height + 1 : 0;
  }

  /**
   * The beacon anchor of a sector for inputs ending at `cutoffMs` (core
   * `beaconAnchor` over the best chain): the last block whose median-time-past
   * is ≤ cutoff, `depth` blocks further back, genesis at least; settled once
   * the tip's median-time-past is past the cutoff. Median-time-past never
   * decreases along a chain, so "the last such block" is the highest one.
   */
  anchor(sectorId: number, cutoffMs: number, depth: number): { sectorId: number; height: number; id: Uint8Array; settled: boolean } {
    const last = this.sql.one<{ height: number }>(
      'SELECT height FROM best_chain WHERE sector_id = ? AND mtp_ms <= ? ORDER BY mtp_ms DESC, height DESC LIMIT 1',
      sectorId,
      cutoffMs,
    );
    const height = Math.max(0, (last?.height ?? 0) - depth);
    const at = this.sql.one<{ id: Uint8Array }>('SELECT id FROM best_chain WHERE sector_id = ? AND height = ?', sectorId, height)!;
    return { sectorId, height, id: at.id, settled: this.tip(sectorId).mtpMs > cutoffMs };
  }

  /**
   * Checks one header for `sector` and stores it; 'known' when it was stored
   * already (nothing changes). Refusals throw with the codes listed above.
   */
  accept(
    header: BlockHeader,
    sector: SectorParams,
    nowMs: number,
    relayedBy: string | null = null,
    workProof: Uint8Array = new Uint8Array(0),
  ): { status: 'new' | 'known'; header: TreeHeader; placed?: TreeHeader[] } {
    // A header posted for one sector must belong to it.
    if (header.sectorId !== sector.id) reject('bad-sector', `header of sector ${header.sectorId} posted for sector ${sector.id}`);
    // Unknown versions cannot be interpreted.
    if (header.version !== HEADER_VERSION) reject('bad-version', `header version ${header.version}`);
    // The sector must allow the work kind.
    if (!sector.workKinds.includes(header.workKind)) reject('bad-work-kind', `${header.workKind} not allowed in ${sector.slug}`);
    // A header already in the tree passed every check below when it came.
    const known = this.get(blockId(header));
    if (known) return { status: 'known', header: known };
    // The work was done and the target is one the sector allows.
    // A matmul header's tile is checked here; whether its task is real is the sector's nodes' rule (core/task.ts).
    const id = unwrap(checkHeaderWork(header, sector, workProof));
    // Headers are relayed parent first; an orphan cannot be placed or checked.
    const parent = this.get(header.prevHash);
    if (parent === undefined) reject('unknown-parent', `parent ${toHex(header.prevHash)} is not in the edge's tree of sector ${sector.slug}`);
    const times = this.ancestorTimes(parent, this.spec.limits.medianTimeSpan);
    unwrap(
      checkHeaderContext(header, {
        parent: parent.header,
        parentId: parent.id,
        parentMtpMs: parent.mtpMs,
        expectedBits: expectedBits(sector, this.genesis.get(sector.id)!, parent.header),
        nowMs,
        maxFutureBlockTimeMs: this.spec.limits.maxFutureBlockTimeMs,
      }),
    );
    const stored: TreeHeader = {
      id,
      sectorId: sector.id,
      height: header.height,
      prevId: header.prevHash,
      header,
      workProof,
      mtpMs: medianTimePast([...times, header.timeMs], this.spec.limits.medianTimeSpan),
      work: parent.work + workOfAcceptedBits(header.bits),
    };
    this.sql.run(
      `INSERT INTO headers (${HEADER_COLUMNS}, time_ms, received_ms, relayed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      sector.id,
      header.height,
      header.prevHash,
      encodeWorkHeader(header, workProof),
      stored.mtpMs,
      workText(stored.work),
      header.timeMs,
      nowMs,
      relayedBy,
    );
    const placed = stored.work > this.tip(sector.id).work ? this.moveTip(stored) : [];
    return { status: 'new', header: stored, placed };
  }

  /** Whether `h` is on its sector's best chain. */
  onBest(h: Pick<TreeHeader, 'id' | 'sectorId' | 'height'>): boolean {
    return this.onBestOf([h]).length === 1;
  }

  /** Those of `list` (headers of one sector) on its best chain: one query for the whole height range. */
  onBestOf<H extends Pick<TreeHeader, 'id' | 'sectorId' | 'height'>>(list: readonly H[]): H[] {
    if (list.length === 0) return [];
    const heights = list.map((h) => h.height);
    const rows = this.sql.all<{ height: number; id: Uint8Array }>(
      'SELECT height, id FROM best_chain WHERE sector_id = ? AND height BETWEEN ? AND ?',
      list[0]!.sectorId,
      Math.min(...heights),
      Math.max(...heights),
    );
    const best = new Map(rows.map((r) => [r.height, r.id]));
    return list.filter((h) => {
      const id = best.get(h.height);
      return id !== undefined && equalBytes(id, h.id);
    });
  }

  /** Work of one block at the tip's difficulty. */
  tipBlockWork(sectorId: number): bigint {
    return workOfAcceptedBits(this.tip(sectorId).header.bits);
  }

  /** Headers of a sector that are not on its best chain, in all or relayed by `key`. */
  sideHeaders(sectorId: number, key?: string): number {
    const byKey = key === undefined ? '' : ' AND h.relayed_by = ?';
    const r = this.sql.one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM headers h LEFT JOIN best_chain b ON b.sector_id = h.sector_id AND b.height = h.height AND b.id = h.id
       WHERE h.sector_id = ?${byKey} AND b.id IS NULL`,
      ...(key === undefined ? [sectorId] : [sectorId, key]),
    );
    return r?.n ?? 0;
  }

  /** Times of `h` and its ancestors, oldest first, at most `count`: one query, not one per ancestor. */
  private ancestorTimes(h: TreeHeader, count: number): number[] {
    const rows = this.sql.all<{ time_ms: number }>(
      `WITH RECURSIVE up (prev_id, height, time_ms, n) AS (
         SELECT prev_id, height, time_ms, 1 FROM headers WHERE id = ?
         UNION ALL
         SELECT h.prev_id, h.height, h.time_ms, up.n + 1 FROM up JOIN headers h ON h.id = up.prev_id WHERE up.n < ? AND up.height > 0
       ) SELECT time_ms FROM up ORDER BY n DESC`,
      h.id,
      count,
    );
    return rows.map((r) => r.time_ms);
  }

  /** Makes `tip` the best chain's tip: the rows from the fork point up are replaced by its branch, which it returns (fork first). */
  private moveTip(tip: TreeHeader): TreeHeader[] {
    const branch: TreeHeader[] = [];
    let cur = tip;
    for (;;) {
      const row = this.sql.one<{ id: Uint8Array }>('SELECT id FROM best_chain WHERE sector_id = ? AND height = ?', cur.sectorId, cur.height);
      if (row !== undefined && equalBytes(row.id, cur.id)) break;
      branch.push(cur);
      cur = this.get(cur.prevId)!;
    }
    this.sql.run('DELETE FROM best_chain WHERE sector_id = ? AND height > ?', tip.sectorId, cur.height);
    for (const h of branch.reverse()) {
      this.sql.run('INSERT INTO best_chain (sector_id, height, id, mtp_ms) VALUES (?, ?, ?, ?)', h.sectorId, h.height, h.id, h.mtpMs);
    }
    return branch;
  }
}
