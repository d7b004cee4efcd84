/**
 * MAIN intake, conversions, their sector draws and the records that settle
 * them.
 *
 * - A MAIN tx (chain 0) is checked with core `checkTx` (format, signature on
 *   this network) and stamped with the window it arrived in, w = windowOf(now).
 *   The same txid again is answered from the stored row and changes nothing.
 * - A conversion is a Convert tx that a node shows confirmed on its origin
 *   sector: the block header must be in the edge's tree, on the best chain
 *   with `mainConfirmations` confirmations, and the tx must be proven in the
 *   block's `txs` section. It is stamped with its arrival window like a MAIN tx.
 * - Assignment: once R_{w+1} is published (edge/beacons.ts), core
 *   `selectSectors` draws the order — purpose `record` over all sectors for a
 *   MAIN tx (`recordSectors` primary), purpose `witness` over the sectors other
 *   than the origin for a conversion (`witnessSectors` primary) — and the
 *   primaries' nodes are sent the assignment.
 * - A record report names a sector of the order, a header in the edge's tree
 *   of that sector, timed after window w ended, and a body inclusion proof of
 *   the record entry (core/record.ts) in the `mainRecords` or `witnessRecords`
 *   section against that header's body root. Anything else is refused and
 *   stores nothing.
 * - Final, void, decided: core's deadline rule (core/main-ledger.ts
 *   `recordProgress`, `earlyFate`) over the verified records whose blocks are
 *   on their best chains with `mainConfirmations` confirmations. Confirmations
 *   are read at query time, so a reorg that drops a record's block undoes
 *   finality.
 * - Fallbacks: once a window's primaries are past w + fallbackWindows, each tx
 *   is pushed once to as many fallbacks as primaries lack a record
 *   (`pushFallbacks`).
 * - The MAIN fold's input: `windowsWithTxs` and `windowData` (edge/main-fold.ts).
 * @module
 */
import { verifyBodyInclusion, type BodyInclusionProof } from '../core/block.js';
import { fromHex, toHex } from '../core/bytes.js';
import { blockId, type BlockHeader } from '../core/header.js';
import type { Verifier } from '../core/keys.js';
import type { NetworkSpec } from '../core/params.js';
import { earlyFate, recordProgress, type RecordCandidate, type WindowData } from '../core/main-ledger.js';
import { checkLock, decodeLock, lockLeaf } from '../core/lock.js';
import { encodeMainRecord, encodeWitnessRecord } from '../core/record.js';
import { selectSectors, type Selection } from '../core/select.js';
import { windowEnd, windowOf } from '../core/time.js';
import { checkTx, decodeTx, MAIN_CHAIN, type Tx } from '../core/tx.js';
import { taskProblem } from '../core/task.js';
import type { Beacons } from './beacons.js';
import { reject, unwrap } from '../api/errors.js';
import type { HeaderTree } from './header-tree.js';
import { proofJson, proofOf, sectorOf, selectionJson, txidOf, type ProofJson, type SelectionJson } from '../api/codec.js';
import { mainAssignmentFrame, witnessRequestFrame } from '../api/frames.js';
import type { AssignmentStatusJson, ConversionReport, IntakeJson, RecordJson, RecordReport } from '../api/routes.js';
import type { Push } from './messages.js';
import type { Sql } from './sql.js';

export type RecordKind = 'main' | 'witness';

const TABLE: Record<RecordKind, string> = { main: 'main_txs', witness: 'conversions' };
const SECTION: Record<RecordKind, 'mainRecords' | 'witnessRecords'> = { main: 'mainRecords', witness: 'witnessRecords' };
const UNKNOWN: Record<RecordKind, string> = { main: 'unknown-tx', witness: 'unknown-conversion' };

interface TxRow {
  txid: Uint8Array;
  raw: Uint8Array;
  window_no: number;
  beacon: Uint8Array | null;
  selection: string | null;
  origin_sector?: number;
  origin_block?: Uint8Array;
  origin_height?: number;
  origin_proof?: string;
  fallback_sent: string | null;
}

interface RecordRow {
  sector_id: number;
  block_id: Uint8Array;
  height: number;
  reported_by: string;
  proof: string;
}

export interface Answer {
  status: number;
  body: unknown;
}

export class Assignments {
  /** The last assignDue stopped at its budget with txs still due: wake again at once. */
  private backlog = false;

  constructor(
    private readonly sql: Sql,
    private readonly spec: NetworkSpec,
    private readonly tree: HeaderTree,
    private readonly beacons: Beacons,
    private readonly networkId: Uint8Array,
    /** Signature verification for checkTx; undefined = core's strict verifier. */
    private readonly verify?: Verifier,
    /** Most assignments one request or wake-up makes, so a full window never stalls the edge in one go. */
    private readonly maxPerCall = 256,
  ) {}

  private windowAt(nowMs: number): number {
    return windowOf(nowMs, this.spec.genesisTimeMs, this.spec.main.windowMs);
  }

  /** POST /v1/main/tx: 202 for a new tx, 200 with the stored answer for a replay. */
  submitMain({ tx, raw }: { tx: Tx; raw: Uint8Array }, nowMs: number): Answer {
    // Format, chain 0 and the sender's signature on this network; balances are the MAIN fold's business.
    const txid = unwrap(checkTx(tx, { networkId: this.networkId, chain: MAIN_CHAIN, verify: this.verify }));
    // A task this network cannot run would only lock its escrow until the fold ignores it.
    if (tx.payload.kind === 'task') {
      const problem = taskProblem(tx.payload, this.spec);
      if (problem !== null) reject('bad-task', problem);
    }
    const known = this.row('main', txid);
    if (known) return { status: 200, body: this.intakeAnswer('main', known) };
    // Until the MAIN ledger decides spends, one tx per (sender, nonce): two could never both be final.
    const nonce = tx.nonce.toString();
    const rival = this.sql.one<{ txid: Uint8Array }>('SELECT txid FROM main_txs WHERE sender = ? AND nonce = ?', tx.from, nonce);
    if (rival) reject('nonce-conflict', `tx ${toHex(new Uint8Array(rival.txid))} from this sender already holds nonce ${nonce}`);
    const window = this.windowAt(nowMs);
    this.sql.run('INSERT INTO main_txs (txid, raw, window_no, received_ms, sender, nonce) VALUES (?, ?, ?, ?, ?, ?)', txid, raw, window, nowMs, tx.from, nonce);
    const answer: IntakeJson = { txid: toHex(txid), window, status: 'pending' };
    return { status: 202, body: answer };
  }

  /** POST /v1/conversions: a confirmed lock (a Convert tx, or a recycle entry) becomes a witness request. */
  submitConversion({ lock, raw, header, proof }: ConversionReport, nowMs: number): Answer {
    // Only a Convert tx, or a recycle entry of a named account, locks sector tokens for MAIN.
    if (lock.kind === 'tx' && lock.tx.payload.kind !== 'convert') reject('not-a-conversion', `a ${lock.tx.payload.kind} tx converts nothing`);
    const origin = sectorOf(this.spec, header.sectorId);
    // The lock must be valid on the sector whose block holds it: a Convert tx signed for it, or a recycle entry of an account it names.
    let txid: Uint8Array;
    if (lock.kind === 'tx') txid = unwrap(checkTx(lock.tx, { networkId: this.networkId, chain: origin.id, verify: this.verify }));
    else {
      if (lock.sector !== origin.id) reject('bad-sector', `a recycle lock of sector ${lock.sector} in a block of sector ${origin.id}`);
      const checked = checkLock(lock, this.spec, { networkId: this.networkId });
      if (!checked.ok) reject('not-a-conversion', checked.detail);
      txid = checked.value;
    }
    const known = this.row('witness', txid);
    if (known) return { status: 200, body: this.intakeAnswer('witness', known) };
    const block = this.tree.get(blockId(header));
    if (block === undefined) reject('unknown-block', `block ${toHex(blockId(header))} is not in the edge's tree of sector ${origin.slug}`);
    // The lock is in the block: a leaf of its section (txs, or settlements) under the header's body root.
    const { section, leaf } = lockLeaf(lock);
    if (proof.section !== section) reject('bad-proof-section', `this lock is proven in the ${section} section`);
    if (!verifyBodyInclusion(leaf, proof, header.bodyRoot)) reject('bad-inclusion-proof', 'the proof does not show this lock under the header');
    // Only a lock buried deep enough becomes MAIN.
    const confirmations = this.tree.confirmations(block);
    if (confirmations < this.spec.main.mainConfirmations) {
      reject('insufficient-confirmations', `the block has ${confirmations} confirmations on the edge's best chain, ${this.spec.main.mainConfirmations} needed`);
    }
    const window = this.windowAt(nowMs);
    this.sql.run(
      `INSERT INTO conversions (txid, raw, origin_sector, origin_block, origin_height, origin_proof, window_no, received_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      txid,
      raw,
      origin.id,
      block.id,
      block.height,
      JSON.stringify(proofJson(proof)),
      window,
      nowMs,
    );
    const answer: IntakeJson = { txid: toHex(txid), origin: origin.id, window, status: 'pending' };
    return { status: 202, body: answer };
  }

  /**
   * Assigns every pending tx whose beacon R_{w+1} can be published now (at
   * most 64 windows, oldest first); the pushes for the drawn sectors. Runs on
   * every request, so it finds each pending window by an index seek, never by
   * scanning the pending txs.
   */
  assignDue(nowMs: number): Push[] {
    const pushes: Push[] = [];
    this.backlog = false;
    // Windows start at -1 (a tx that arrived before genesis).
    for (let after = Number.MIN_SAFE_INTEGER, n = 0; n < 64; n++) {
      const w = this.nextPendingWindow(after);
      if (w === null) break;
      after = w;
      const r = this.beacons.tryGet(w + 1, nowMs);
      if (!r.ok) break;
      const beacon = fromHex(r.value.beacon);
      for (const kind of ['main', 'witness'] as const) {
        const budget = Math.max(1, this.maxPerCall) - pushes.length;
        const rows = this.sql.all<TxRow>(`SELECT * FROM ${TABLE[kind]} WHERE window_no = ? AND beacon IS NULL ORDER BY txid LIMIT ?`, w, budget + 1);
        for (const row of rows.slice(0, budget)) pushes.push(this.assign(kind, row, beacon, r.value.window, nowMs));
        if (rows.length > budget) {
          this.backlog = true;
          return pushes;
        }
      }
    }
    return pushes;
  }

  /** The earliest window after `after` that holds a pending MAIN tx or conversion, or null. */
  private nextPendingWindow(after: number): number | null {
    const r = this.sql.one<{ w: number | null }>(
      'SELECT min(w) AS w FROM (SELECT min(window_no) AS w FROM main_txs WHERE beacon IS NULL AND window_no > ? UNION ALL SELECT min(window_no) FROM conversions WHERE beacon IS NULL AND window_no > ?)',
      after,
      after,
    );
    return r?.w ?? null;
  }

  /**
   * When to call assignDue again: at once when the last call stopped at its
   * budget, else when the earliest pending tx's beacon window ends (it may
   * still wait on headers then); null if none waits on the clock.
   */
  nextWakeMs(nowMs: number): number | null {
    if (this.backlog) return nowMs + 1;
    const w = this.nextPendingWindow(Number.MIN_SAFE_INTEGER);
    if (w === null) return null;
    const at = windowEnd(w, this.spec.genesisTimeMs, this.spec.main.windowMs) + 1;
    return at > nowMs ? at : null;
  }

  private assign(kind: RecordKind, row: TxRow, beacon: Uint8Array, beaconWindow: number, nowMs: number): Push {
    const m = this.spec.main;
    const selection = unwrap(
      selectSectors({
        purpose: kind === 'main' ? 'record' : 'witness',
        beacon,
        txid: row.txid,
        origin: kind === 'main' ? null : row.origin_sector!,
        sectors: this.spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight })),
        count: kind === 'main' ? m.recordSectors : m.witnessSectors,
      }),
    );
    this.sql.run(`UPDATE ${TABLE[kind]} SET beacon = ?, selection = ?, assigned_ms = ? WHERE txid = ?`, beacon, JSON.stringify(selectionJson(selection)), nowMs, row.txid);
    return { sectors: selection.primary, message: this.frameOf(kind, row, beacon, beaconWindow, selection) };
  }

  /** The assignment frame of a row, as its primaries (and later its fallbacks) receive it. */
  private frameOf(kind: RecordKind, row: TxRow, beacon: Uint8Array, beaconWindow: number, selection: Selection): Push['message'] {
    const base = { txid: row.txid, raw: row.raw, window: row.window_no, beaconWindow, beacon, selection };
    if (kind === 'main') return mainAssignmentFrame(base);
    const originHeader = this.tree.get(row.origin_block!)!;
    return witnessRequestFrame({
      ...base,
      origin: {
        sectorId: row.origin_sector!,
        blockId: row.origin_block!,
        height: row.origin_height!,
        header: originHeader.header,
        proof: JSON.parse(row.origin_proof!) as ProofJson,
      },
    });
  }

  /**
   * Once a window's primaries are past their deadline (w + fallbackWindows
   * has ended by the clock), each assigned tx is pushed to as many fallbacks
   * of its order as primaries lack a record on their best chain within that
   * deadline; once per tx. A fallback that records when it was not needed
   * costs a record entry and changes nothing: the fold takes the first
   * sectors of the order that recorded in time.
   */
  pushFallbacks(nowMs: number): Push[] {
    const m = this.spec.main;
    const lastDue = this.windowAt(nowMs) - m.fallbackWindows - 1;
    const pushes: Push[] = [];
    for (const kind of ['main', 'witness'] as const) {
      const rows = this.sql.all<TxRow>(
        `SELECT * FROM ${TABLE[kind]} WHERE beacon IS NOT NULL AND fallback_sent IS NULL AND window_no <= ? ORDER BY window_no, txid LIMIT ?`,
        lastDue,
        this.maxPerCall,
      );
      for (const row of rows) {
        const json = JSON.parse(row.selection!) as SelectionJson;
        const selection: Selection = { order: json.order, primary: json.primary, fallback: json.fallback };
        const { candidates } = this.candidates(kind, row, 1);
        const { progress } = this.progressOf(kind, row, json, candidates);
        const missing = json.primary.filter((_, i) => progress.states[i] !== 'counted').length;
        const sectors = json.fallback.slice(0, missing);
        this.sql.run(`UPDATE ${TABLE[kind]} SET fallback_sent = ? WHERE txid = ?`, JSON.stringify(sectors), row.txid);
        if (sectors.length > 0) pushes.push({ sectors, message: this.frameOf(kind, row, row.beacon!, row.window_no + 1, selection) });
      }
    }
    return pushes;
  }

  /** POST /v1/main/tx/:txid/records and /v1/conversions/:txid/records. */
  reportRecord(kind: RecordKind, txidParam: string | undefined, report: () => RecordReport, reporter: string, nowMs: number): Answer {
    const txid = txidOf(txidParam);
    const row = this.row(kind, txid);
    if (row === undefined) reject(UNKNOWN[kind], `no ${kind === 'main' ? 'MAIN tx' : 'conversion'} ${toHex(txid)}`);
    if (row.beacon === null || row.selection === null) reject('not-assigned', `R_${row.window_no + 1} is not published yet, so no sector is assigned`);
    // A tx taken before genesis (window −1) was drawn with R_0, but no record entry can name window −1.
    if (row.window_no < 0) reject('not-recordable', 'a tx taken before genesis (window -1) has no record encoding');
    const { sectorId, header, proof } = report();
    const sector = sectorOf(this.spec, sectorId);
    if (header.sectorId !== sector.id) reject('bad-sector', `the header is of sector ${header.sectorId}, not ${sector.id}`);
    const selection = JSON.parse(row.selection) as SelectionJson;
    // Only sectors of the draw may record; anyone else's record proves nothing.
    if (!selection.order.includes(sector.id)) reject('sector-not-assigned', `sector ${sector.id} is not in the order ${selection.order.join(',')}`);
    const block = this.tree.get(blockId(header));
    if (block === undefined) reject('unknown-block', `block ${toHex(blockId(header))} is not in the edge's tree of sector ${sector.slug}`);
    // R_{w+1} is public only after window w ends, so no honest record is older.
    const end = windowEnd(row.window_no, this.spec.genesisTimeMs, this.spec.main.windowMs);
    if (header.timeMs <= end) reject('record-too-early', `block time ${header.timeMs} is not after window ${row.window_no} (ends ${end})`);
    // Blocks refuse records older than this (core checkMainRecords, checkWitnessRecords); the edge holds reports to the same bound.
    const blockWindow = windowOf(header.timeMs, this.spec.genesisTimeMs, this.spec.main.windowMs);
    const late = this.spec.main.recordWindows;
    if (blockWindow - row.window_no > late) reject('record-too-late', `block window ${blockWindow} is more than ${late} windows after ${row.window_no}`);
    this.verifyEntry(kind, row, proof, header);
    const known = this.sql.one('SELECT 1 AS x FROM records WHERE kind = ? AND txid = ? AND sector_id = ? AND block_id = ?', kind, txid, sector.id, block.id);
    if (!known) {
      this.sql.run(
        'INSERT INTO records (kind, txid, sector_id, block_id, height, proof, reported_by, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        kind,
        txid,
        sector.id,
        block.id,
        block.height,
        JSON.stringify(proofJson(proof)),
        reporter,
        nowMs,
      );
    }
    return { status: known ? 200 : 201, body: this.statusOf(kind, this.row(kind, txid)!) };
  }

  /** The record entry is a leaf of its section under the header's body root. */
  private verifyEntry(kind: RecordKind, row: TxRow, proof: BodyInclusionProof, header: BlockHeader): void {
    if (proof.section !== SECTION[kind]) reject('bad-proof-section', `a ${kind} record is proven in the ${SECTION[kind]} section`);
    const entry =
      kind === 'main'
        ? encodeMainRecord({ window: row.window_no, tx: decodeTx(row.raw) })
        : encodeWitnessRecord({
            window: row.window_no,
            originSector: row.origin_sector!,
            originBlock: row.origin_block!,
            lock: decodeLock(row.raw),
            lockProof: proofOf(JSON.parse(row.origin_proof!)),
          });
    if (!verifyBodyInclusion(entry, proof, header.bodyRoot)) reject('bad-inclusion-proof', 'the proof does not show the record entry under the header');
  }

  /** Windows after `after` holding MAIN txs or conversions, ascending, at most `limit`. */
  windowsWithTxs(after: number, limit: number): number[] {
    return this.sql
      .all<{ w: number }>(
        'SELECT DISTINCT window_no AS w FROM (SELECT window_no FROM main_txs WHERE window_no > ? UNION SELECT window_no FROM conversions WHERE window_no > ?) ORDER BY w LIMIT ?',
        after,
        after,
        limit,
      )
      .map((r) => r.w);
  }

  /**
   * What the MAIN fold needs of window w (core WindowData): its txs, the
   * beacon R_{w+1} that drew them, and every verified record report with
   * its header and proof. Undefined while some tx of w is not assigned.
   */
  windowData(w: number): WindowData | undefined {
    const main = this.sql.all<TxRow>('SELECT * FROM main_txs WHERE window_no = ? ORDER BY txid', w);
    const conv = this.sql.all<TxRow>('SELECT * FROM conversions WHERE window_no = ? ORDER BY txid', w);
    const all = [...main, ...conv];
    if (all.some((r) => r.beacon === null)) return undefined;
    // A window without txs has nothing drawn: its beacon does not matter to the fold.
    const beacon = all[0]?.beacon ?? new Uint8Array(32);
    const records: WindowData['records'] = [];
    for (const [kind, rows] of [['main', main], ['witness', conv]] as const) {
      for (const row of rows) {
        for (const r of this.sql.all<RecordRow>('SELECT sector_id, block_id, height, reported_by, proof FROM records WHERE kind = ? AND txid = ? ORDER BY sector_id, block_id', kind, row.txid)) {
          const h = this.tree.get(r.block_id);
          if (h) records.push({ kind, txid: row.txid, sectorId: r.sector_id, header: h.header, proof: proofOf(JSON.parse(r.proof)) });
        }
      }
    }
    return {
      window: w,
      beacon: new Uint8Array(beacon),
      main: main.map((r) => decodeTx(r.raw)),
      conversions: conv.map((r) => ({ lock: decodeLock(r.raw), originBlock: r.origin_block!, originHeight: r.origin_height!, lockProof: proofOf(JSON.parse(r.origin_proof!)) })),
      records,
    };
  }

  /** GET /v1/main/tx/:txid and /v1/conversions/:txid. */
  status(kind: RecordKind, txidParam: string | undefined): Answer {
    const txid = txidOf(txidParam);
    const row = this.row(kind, txid);
    if (row === undefined) reject(UNKNOWN[kind], `no ${kind === 'main' ? 'MAIN tx' : 'conversion'} ${toHex(txid)}`);
    return { status: 200, body: this.statusOf(kind, row) };
  }

  private row(kind: RecordKind, txid: Uint8Array): TxRow | undefined {
    return this.sql.one<TxRow>(`SELECT * FROM ${TABLE[kind]} WHERE txid = ?`, txid);
  }

  /** The answer to an intake: what a replay of the same txid gets again. */
  private intakeAnswer(kind: RecordKind, row: TxRow): IntakeJson {
    const s = this.statusOf(kind, row);
    return kind === 'main' ? { txid: s.txid, window: s.window, status: s.status } : { txid: s.txid, origin: row.origin_sector!, window: s.window, status: s.status };
  }

  /** The counting records of a row: verified reports whose block is on its sector's best chain with `need` confirmations. */
  private candidates(kind: RecordKind, row: TxRow, need = this.spec.main.mainConfirmations): { rows: RecordJson[]; candidates: RecordCandidate[] } {
    const rows: RecordJson[] = [];
    const candidates: RecordCandidate[] = [];
    for (const r of this.sql.all<RecordRow>('SELECT sector_id, block_id, height, reported_by, proof FROM records WHERE kind = ? AND txid = ? ORDER BY sector_id, height, block_id', kind, row.txid)) {
      const h = this.tree.get(r.block_id);
      const confirmations = h ? this.tree.confirmations(h) : 0;
      rows.push({ sectorId: r.sector_id, blockId: toHex(r.block_id), height: r.height, confirmations, reportedBy: r.reported_by });
      if (h && confirmations >= need) {
        const miner = proofOf(JSON.parse(r.proof)).miner;
        candidates.push({ sectorId: r.sector_id, blockWindow: windowOf(h.header.timeMs, this.spec.genesisTimeMs, this.spec.main.windowMs), blockId: h.id, miner });
      }
    }
    return { rows, candidates };
  }

  /** Where a row stands by core's deadline rule on the edge's chains (core recordProgress). */
  private progressOf(kind: RecordKind, row: TxRow, selection: SelectionJson, candidates: RecordCandidate[]) {
    const count = kind === 'main' ? this.spec.main.recordSectors : this.spec.main.witnessSectors;
    const progress = recordProgress(selection.order, count, row.window_no, candidates, this.spec.main, (s) => this.tree.settledThrough(s));
    return { count, progress };
  }

  private statusOf(kind: RecordKind, row: TxRow): AssignmentStatusJson {
    const selection: SelectionJson = row.selection ? (JSON.parse(row.selection) as SelectionJson) : { order: [], primary: [], fallback: [] };
    const need = this.spec.main.mainConfirmations;
    const { rows: records, candidates } = this.candidates(kind, row, need);
    const { count, progress } = this.progressOf(kind, row, selection, candidates);
    const fate = row.beacon === null ? 'open' : earlyFate(progress, count);
    const decided = row.beacon !== null && this.spec.sectors.every((s) => this.tree.settledThrough(s.id) >= row.window_no + this.spec.main.recordWindows);
    const out: AssignmentStatusJson = {
      txid: toHex(row.txid),
      kind: kind === 'main' ? 'main' : 'conversion',
      tx: toHex(row.raw),
      window: row.window_no,
      beaconWindow: row.window_no + 1,
      status: row.beacon === null ? 'pending' : fate === 'open' ? 'assigned' : fate,
      beacon: row.beacon && toHex(row.beacon),
      assigned: selection.primary,
      fallback: selection.fallback,
      order: selection.order,
      records,
      confirmationsRequired: need,
      final: fate === 'final',
      counted: selection.order.filter((_, i) => progress.states[i] === 'counted'),
      fallbackSent: row.fallback_sent ? (JSON.parse(row.fallback_sent) as number[]) : [],
      decided,
    };
    if (kind === 'witness') {
      const origin = this.tree.get(row.origin_block!);
      out.origin = {
        sectorId: row.origin_sector!,
        blockId: toHex(row.origin_block!),
        height: row.origin_height!,
        confirmations: origin ? this.tree.confirmations(origin) : 0,
      };
    }
    return out;
  }
}
