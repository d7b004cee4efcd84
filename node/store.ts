/**
 * A sector node's persistent store: blocks, the connected chain, account
 * state with undo data, a tx index, the mempool, peers and metadata, in one
 * SQLite file.
 *
 * Consistency: `connectBlock` and `disconnectTip` each run in one SQL
 * transaction, so a crash at any moment leaves the store before or after the
 * block, never between. The connected chain has one row per height; undo
 * data and tx index rows reference it, so the schema itself refuses undo or
 * index rows for a block that is not connected. `transaction(fn)` groups
 * several calls (a reorg's steps, a disconnect with its mempool returns) into
 * one.
 *
 * Durability: WAL journal with `synchronous = NORMAL`. A commit is written to
 * the WAL before it returns, so a killed process loses nothing that was
 * committed; on power loss or an OS crash the last commits since the previous
 * checkpoint may be lost, but the file reopens consistent (WAL frames are
 * checksummed and a torn tail is ignored). Losing the newest blocks is
 * harmless for a node, which fetches them again from peers; FULL would add an
 * fsync to every block for no gain in consistency.
 *
 * This module does not validate blocks or compute state transitions: the
 * caller passes the state delta it computed, and the store checks only that
 * the delta's `before` values match the state it holds. Fork choice, reorg
 * policy and mempool policy (conflicts, eviction) live with their callers.
 * @module
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeBlock, encodeBlock, type Block, type BlockLimits } from '../core/block.js';
import { bigIntToBytesBE, bytesToBigIntBE, equalBytes, fromHex, toHex } from '../core/bytes.js';
import { decodeExact, encodeWith, type Reader, type Writer } from '../core/codec.js';
import { CodecError, PouwError } from '../core/errors.js';
import { blockId, decodeHeader, encodeHeader, type BlockHeader } from '../core/header.js';
import { ADDRESS_BYTES } from '../core/keys.js';
import type { Release } from '../core/main-ledger.js';
import type { AccountChange, AccountState, StateDelta, StateView } from '../core/state.js';
import { cumulativeWork } from '../core/target.js';
import { decodeTx, encodeTx, txId, txSender, type Tx } from '../core/tx.js';
import { migrate, U64_DIGITS, WORK_DIGITS } from './migrations.js';

export { SCHEMA_VERSION } from './migrations.js';

/** What the node knows about a block: its header checked, the whole block checked, or rejected. */
export type BlockStatus = 'valid-header' | 'valid' | 'invalid';
const BLOCK_STATUSES: readonly BlockStatus[] = ['valid-header', 'valid', 'invalid'];

export interface StoreOptions {
  /** Limits the blocks are encoded and decoded with (the network's chain limits). */
  limits: BlockLimits;
  /** How long a statement waits for another connection's lock. Default 5000. */
  busyTimeoutMs?: number;
}

export interface ChainTip {
  id: Uint8Array;
  height: number;
  cumulativeWork: bigint;
}

export interface BlockInfo {
  id: Uint8Array;
  height: number;
  prevId: Uint8Array;
  cumulativeWork: bigint;
  status: BlockStatus;
  /** Rejection code of an invalid block; null otherwise. */
  invalidCode: string | null;
  receivedMs: number;
}

export interface PutBlockOptions {
  /** The block's id when the caller computed it (the chain does); computed here otherwise. */
  id?: Bytes;
  cumulativeWork: bigint;
  status: BlockStatus;
  /** Required with status 'invalid', refused otherwise. */
  invalidCode?: string;
  /** Defaults to now. */
  receivedMs?: number;
}

export interface DisconnectedBlock {
  id: Uint8Array;
  block: Block;
  /** The delta that was undone. */
  delta: StateDelta;
}

export interface MempoolEntry {
  id: Uint8Array;
  tx: Tx;
  raw: Uint8Array;
  fee: bigint;
  /** Sender address (20 bytes). */
  sender: Uint8Array;
  nonce: bigint;
  receivedMs: number;
}

export interface PeerRecord {
  url: string;
  score: number;
  /** The peer is banned while now < bannedUntilMs; 0 when never banned. */
  bannedUntilMs: number;
  lastSeenMs: number | null;
  failures: number;
}

type Bytes = Uint8Array;

interface BlockRow {
  id: Buffer;
  height: number;
  prev_id: Buffer;
  cumulative_work: string;
  status: BlockStatus;
  invalid_code: string | null;
  received_ms: number;
}
interface AccountRow {
  balance: string;
  nonce: string;
}
interface MempoolRow {
  txid: Buffer;
  raw: Buffer;
  received_ms: number;
}
interface PeerRow {
  url: string;
  score: number;
  banned_until_ms: number;
  last_seen_ms: number | null;
  failures: number;
}

/** Opens (creating and migrating when needed) the store at `path`; ':memory:' for a throwaway one. */
export function openStore(path: string, options: StoreOptions): Store {
  let db: Database.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  } catch (e) {
    throw new PouwError('store-open-failed', `cannot open the store at ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== ':memory:') {
      throw new PouwError('store-open-failed', `the store at ${path} cannot use a WAL journal (got ${String(mode)})`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return new Store(db, options.limits);
  } catch (e) {
    db.close();
    if (e instanceof PouwError) throw e;
    throw new PouwError('store-open-failed', `cannot open the store at ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export class Store implements StateView {
  readonly mempool: MempoolTable;
  readonly peers: PeerTable;
  readonly meta: MetaTable;
  readonly main: MainTable;
  private readonly q: ReturnType<typeof prepareChain>;

  /** Use `openStore`, which sets the pragmas and migrates first. */
  constructor(
    private readonly db: Database.Database,
    readonly limits: BlockLimits,
  ) {
    this.q = prepareChain(db);
    this.mempool = new MempoolTable(db);
    this.peers = new PeerTable(db);
    this.meta = new MetaTable(db);
    this.main = new MainTable(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one immediate transaction (nested calls become savepoints); a throw rolls it all back. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // --- blocks -------------------------------------------------------------

  /**
   * Stores a block and returns its id. Idempotent: a block already stored is
   * left as it is (status included; use `setBlockStatus` to change it).
   */
  putBlock(block: Block, opts: PutBlockOptions): { id: Bytes; inserted: boolean } {
    checkStatus(opts.status, opts.invalidCode);
    const id = opts.id ?? blockId(block.header);
    const r = this.q.insertBlock.run(
      id,
      block.header.height,
      block.header.prevHash,
      encodeHeader(block.header),
      encodeBlock(block, this.limits),
      workText(opts.cumulativeWork),
      opts.receivedMs ?? Date.now(),
      opts.status,
      opts.invalidCode ?? null,
    );
    return { id, inserted: r.changes === 1 };
  }

  /** Changes a stored block's status; false when the block is unknown. */
  setBlockStatus(id: Bytes, status: BlockStatus, invalidCode?: string): boolean {
    checkStatus(status, invalidCode);
    return this.q.setStatus.run(status, invalidCode ?? null, id).changes === 1;
  }

  hasBlock(id: Bytes): boolean {
    return this.q.hasBlock.get(id) !== undefined;
  }

  getBlock(id: Bytes): Block | undefined {
    const row = this.q.blockBytes.get(id);
    return row && decodeBlock(view(row.block), this.limits);
  }

  getHeader(id: Bytes): BlockHeader | undefined {
    const row = this.q.headerBytes.get(id);
    return row && decodeHeader(view(row.header));
  }

  blockInfo(id: Bytes): BlockInfo | undefined {
    const row = this.q.blockInfo.get(id);
    return row && toBlockInfo(row);
  }

  /** Ids of the stored blocks whose parent is `id`. */
  childrenOf(id: Bytes): Bytes[] {
    return this.q.children.all(id).map((r) => copy(r.id));
  }

  // --- connected chain ----------------------------------------------------

  /** The tip of the connected chain; undefined before `initGenesis`. */
  tip(): ChainTip | undefined {
    const row = this.q.tip.get();
    return row && { id: copy(row.id), height: row.height, cumulativeWork: BigInt(row.cumulative_work) };
  }

  /** Id of the connected block at `height`. */
  idAtHeight(height: number): Bytes | undefined {
    const row = this.q.idAtHeight.get(height);
    return row && copy(row.block_id);
  }

  /** The connected block at `height`. */
  getBlockByHeight(height: number): Block | undefined {
    const row = this.q.blockAtHeight.get(height);
    return row && decodeBlock(view(row.block), this.limits);
  }

  /** Whether `id` is on the connected chain. */
  isConnected(id: Bytes): boolean {
    return this.q.isConnected.get(id) !== undefined;
  }

  /** Where a transaction of the connected chain is. */
  txLocation(txid: Bytes): { blockId: Bytes; position: number } | undefined {
    const row = this.q.txLocation.get(txid);
    return row && { blockId: copy(row.block_id), position: row.position };
  }

  /** The delta a connected block applied (genesis included). */
  undo(id: Bytes): StateDelta | undefined {
    const row = this.q.undo.get(id);
    return row && decodeDelta(view(row.delta));
  }

  /** Account state at the tip: zero balance and nonce 0 when never touched. */
  account(address: Bytes): AccountState {
    const row = this.q.account.get(address);
    return row ? { balance: BigInt(row.balance), nonce: BigInt(row.nonce) } : { balance: 0n, nonce: 0n };
  }

  /**
   * Starts the chain at `block`, with the genesis allocations as `delta`.
   * Only on a store with no blocks (PouwError `store-not-empty`).
   */
  initGenesis(block: Block, id: Bytes, delta: StateDelta): void {
    checkId(block, id);
    if (block.header.height !== 0) throw new RangeError('a genesis block has height 0');
    const work = cumulativeWork(0n, block.header.bits);
    if (!work.ok) throw new RangeError(`genesis bits: ${work.code}`);
    this.transaction(() => {
      if (this.q.anyBlock.get() !== undefined) {
        throw new PouwError('store-not-empty', 'the store already holds blocks; genesis goes only into an empty store');
      }
      this.putBlock(block, { cumulativeWork: work.value, status: 'valid' });
      this.q.appendBest.run(0, id);
      this.applyDelta(delta, 'forward');
      this.q.insertUndo.run(id, encodeDelta(delta));
      this.meta.set('genesis-id', toHex(id));
    });
  }

  /**
   * Connects a stored block on top of the tip, in one transaction: writes the
   * delta's `after` values, keeps the delta as undo data, appends the block to
   * the connected chain, indexes its txs, removes them from the mempool and
   * marks the block valid. Throws PouwError `store-no-genesis`,
   * `store-unknown-block`, `store-block-invalid`, `store-not-tip-child` or
   * `store-state-mismatch` (a `before` value differs from the stored state),
   * leaving the store unchanged.
   */
  connectBlock(block: Block, id: Bytes, delta: StateDelta): void {
    checkId(block, id);
    const txids = block.body.txs.map(txId);
    this.transaction(() => {
      const tip = this.tip();
      if (!tip) throw new PouwError('store-no-genesis', 'connect before genesis');
      const info = this.q.blockInfo.get(id);
      if (!info) throw new PouwError('store-unknown-block', `block ${toHex(id)} is not stored; put it first`);
      if (info.status === 'invalid') {
        throw new PouwError('store-block-invalid', `block ${toHex(id)} was rejected (${info.invalid_code})`);
      }
      if (!equalBytes(block.header.prevHash, tip.id) || block.header.height !== tip.height + 1) {
        throw new PouwError(
          'store-not-tip-child',
          `block ${toHex(id)} at height ${block.header.height} does not extend the tip ${toHex(tip.id)} at ${tip.height}`,
        );
      }
      this.applyDelta(delta, 'forward');
      this.q.appendBest.run(block.header.height, id);
      this.q.insertUndo.run(id, encodeDelta(delta));
      txids.forEach((txid, i) => this.q.insertTx.run(txid, id, i));
      this.mempool.remove(txids);
      this.q.setStatus.run('valid', null, id);
    });
  }

  /**
   * Disconnects the tip in one transaction: restores the `before` values of
   * its delta and drops its connected-chain, undo and tx index rows. The block
   * stays stored; its txs are returned with it for the caller to put back in
   * the mempool (inside `transaction` to make that atomic too). Refuses
   * genesis (PouwError `store-disconnect-genesis`).
   */
  disconnectTip(): DisconnectedBlock {
    return this.transaction(() => {
      const tip = this.tip();
      if (!tip) throw new PouwError('store-no-genesis', 'disconnect before genesis');
      if (tip.height === 0) throw new PouwError('store-disconnect-genesis', 'genesis cannot be disconnected');
      const undo = this.q.undo.get(tip.id);
      const row = this.q.blockBytes.get(tip.id);
      if (!undo || !row) throw new PouwError('store-corrupt', `tip ${toHex(tip.id)} has no ${undo ? 'block' : 'undo data'}`);
      const delta = decodeDelta(view(undo.delta));
      this.applyDelta(delta, 'backward');
      this.q.deleteTxs.run(tip.id);
      this.q.deleteUndo.run(tip.id);
      this.q.deleteBest.run(tip.height);
      return { id: tip.id, block: decodeBlock(view(row.block), this.limits), delta };
    });
  }

  /** Writes `after` (forward) or `before` (backward) after checking the other side matches the stored state. */
  private applyDelta(delta: StateDelta, direction: 'forward' | 'backward'): void {
    const changes = direction === 'forward' ? delta.changes : [...delta.changes].reverse();
    for (const c of changes) {
      const [from, to] = direction === 'forward' ? [c.before, c.after] : [c.after, c.before];
      const now = this.account(c.address);
      if (now.balance !== from.balance || now.nonce !== from.nonce) {
        throw new PouwError(
          'store-state-mismatch',
          `account ${toHex(c.address)} holds ${now.balance}/${now.nonce}, the delta expects ${from.balance}/${from.nonce}`,
        );
      }
      if (to.balance === 0n && to.nonce === 0n) this.q.deleteAccount.run(c.address);
      else this.q.putAccount.run(c.address, amountText(to.balance), amountText(to.nonce));
    }
  }
}

/** The mempool's persistent copy: transactions waiting for a block. */
export class MempoolTable {
  private readonly q: ReturnType<typeof prepareMempool>;
  private readonly removeAll: (ids: readonly Bytes[]) => number;

  constructor(db: Database.Database) {
    this.q = prepareMempool(db);
    this.removeAll = db.transaction((ids: readonly Bytes[]) =>
      ids.reduce((n, id) => n + this.q.remove.run(id).changes, 0),
    );
  }

  /** Adds `tx`; false when a tx with its id is already there. */
  put(tx: Tx, receivedMs: number = Date.now()): boolean {
    const r = this.q.put.run(txId(tx), encodeTx(tx), u64Text(tx.fee), txSender(tx), u64Text(tx.nonce), receivedMs);
    return r.changes === 1;
  }

  get(txid: Bytes): MempoolEntry | undefined {
    const row = this.q.get.get(txid);
    return row && toMempoolEntry(row);
  }

  has(txid: Bytes): boolean {
    return this.q.has.get(txid) !== undefined;
  }

  /** Removes the given txs in one transaction; returns how many were there. */
  remove(txids: readonly Bytes[]): number {
    return this.removeAll(txids);
  }

  count(): number {
    return this.q.count.get()!.n;
  }

  /**
   * Highest fee first (then oldest), or, with `sender`, that sender's txs by
   * nonce. At most `limit` entries (default all).
   */
  list(opts: { sender?: Bytes; limit?: number } = {}): MempoolEntry[] {
    const limit = opts.limit ?? -1;
    const rows = opts.sender ? this.q.bySender.all(opts.sender, limit) : this.q.byFee.all(limit);
    return rows.map(toMempoolEntry);
  }
}

type PeerFields = Partial<Omit<PeerRecord, 'url'>>;

/** Known peers with their reputation. */
export class PeerTable {
  private readonly q: ReturnType<typeof preparePeers>;
  private readonly upsertTx: (url: string, fields: PeerFields) => PeerRecord;
  private readonly addScoreTx: (url: string, delta: number) => number;

  constructor(db: Database.Database) {
    const q = (this.q = preparePeers(db));
    this.upsertTx = db.transaction((url: string, fields: PeerFields) => {
      q.insert.run(url);
      const p = { ...toPeer(q.get.get(url)!), ...fields };
      q.update.run(p.score, p.bannedUntilMs, p.lastSeenMs, p.failures, url);
      return p;
    });
    this.addScoreTx = db.transaction((url: string, delta: number) => {
      q.insert.run(url);
      return q.addScore.get(delta, url)!.score;
    });
  }

  /** Adds `url` if new (score 0, not banned, never seen, no failures) and sets the given fields. */
  upsert(url: string, fields: PeerFields = {}): PeerRecord {
    return this.upsertTx(url, fields);
  }

  get(url: string): PeerRecord | undefined {
    const row = this.q.get.get(url);
    return row && toPeer(row);
  }

  /** Peers not banned at `nowMs` (default now), best score first, then most recently seen. */
  list(opts: { nowMs?: number; includeBanned?: boolean; limit?: number } = {}): PeerRecord[] {
    const now = opts.includeBanned ? Number.MAX_SAFE_INTEGER : (opts.nowMs ?? Date.now());
    return this.q.list.all(now, opts.limit ?? -1).map(toPeer);
  }

  /** Bans `url` until `untilMs` (adding it if unknown). */
  ban(url: string, untilMs: number): PeerRecord {
    return this.upsert(url, { bannedUntilMs: untilMs });
  }

  /** Adds `delta` to the score of `url` (adding it if unknown) and returns the new score. */
  addScore(url: string, delta: number): number {
    if (!Number.isSafeInteger(delta)) throw new RangeError('a score delta is a safe integer');
    return this.addScoreTx(url, delta);
  }

  remove(url: string): boolean {
    return this.q.remove.run(url).changes === 1;
  }
}

/** Small string settings: the spec hash, the genesis id (hex), and the like. */
export class MetaTable {
  private readonly q: ReturnType<typeof prepareMeta>;

  constructor(db: Database.Database) {
    this.q = prepareMeta(db);
  }

  get(key: string): string | undefined {
    return this.q.get.get(key)?.value;
  }

  set(key: string, value: string): void {
    this.q.set.run(key, value);
  }

  delete(key: string): boolean {
    return this.q.delete.run(key).changes === 1;
  }
}

/** A window of the node's MAIN fold as stored. */
export interface MainWindowRow {
  window: number;
  root: Bytes;
  /** The root the edge published for the window, when it had one. */
  edgeRoot: Bytes | null;
  /** The outcome (api/main.ts WindowResultJson), as JSON text. */
  result: string;
  foldedMs: number;
}

/**
 * The node's MAIN fold (node/main-view.ts): one row per folded window and the
 * ledger after the last one, written together so a crash never leaves them
 * apart. Only the ledger is ever loaded whole; windows are read one at a time.
 */
export class MainTable {
  private readonly q: ReturnType<typeof prepareMain>;

  constructor(private readonly db: Database.Database) {
    this.q = prepareMain(db);
  }

  ledger(): { window: number; state: string } | undefined {
    const r = this.q.ledger.get();
    return r && { window: r.window_no, state: r.state };
  }

  /** Stores a folded window, each of its txs' outcome, and the ledger after it, in one transaction. */
  saveWindow(row: MainWindowRow, outcomes: readonly MainOutcome[], ledgerState: string, releases: readonly Release[] = []): void {
    this.db
      .transaction(() => {
        this.q.putWindow.run(row.window, row.root, row.edgeRoot, row.result, row.foldedMs);
        for (const o of outcomes) this.q.putOutcome.run(o.txid, row.window, o.kind, o.status, o.code ?? null, o.amount ?? null, o.from ?? null, o.to ?? null);
        for (const r of releases) this.q.putRelease.run(r.sectorId, Number(r.seq), r.window, r.id, toHex(r.to), r.amount.toString(), r.reason, r.txid);
        this.q.putLedger.run(row.window, ledgerState);
      })
      .immediate();
  }

  /** How the fold ended a tx, if a folded window held it. */
  outcome(txid: string): (MainOutcome & { window: number }) | undefined {
    const r = this.q.outcome.get(txid);
    return r && outcomeOf(r);
  }

  /** The applied txs that moved MAIN from or to `address` (hex), newest first. */
  outcomesOf(address: string, limit: number): (MainOutcome & { window: number })[] {
    return this.q.outcomesOf.all(address, address, limit).map(outcomeOf);
  }

  /** Release `seq` of sector `sectorId`, once a folded window owes it. */
  release(sectorId: number, seq: bigint): Release | undefined {
    if (seq > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const r = this.q.release.get(sectorId, Number(seq));
    return r && releaseOf(r);
  }

  /** Releases of sector `sectorId` from seq `from` on, in seq order. */
  releasesFrom(sectorId: number, from: bigint, limit: number): Release[] {
    if (from > BigInt(Number.MAX_SAFE_INTEGER)) return [];
    return this.q.releasesFrom.all(sectorId, Number(from), limit).map(releaseOf);
  }

  /** How many releases the fold owes sector `sectorId` so far. */
  releaseCount(sectorId: number): bigint {
    return BigInt(this.q.releaseCount.get(sectorId)!.n);
  }

  /** The edge's root for a window folded before the edge published one. */
  setEdgeRoot(w: number, root: Bytes): void {
    this.q.setEdgeRoot.run(root, w);
  }

  /** Folded windows still waiting for the edge's root, oldest first. */
  awaitingEdgeRoot(limit: number): number[] {
    return this.q.awaiting.all(limit).map((r) => r.window_no);
  }

  window(w: number): MainWindowRow | undefined {
    const r = this.q.window.get(w);
    return r && windowRow(r);
  }

  /** Folded windows after `after`, oldest first. */
  windowsAfter(after: number, limit: number): MainWindowRow[] {
    return this.q.after.all(after, limit).map(windowRow);
  }

  /** The newest folded windows, newest first. */
  recent(limit: number): MainWindowRow[] {
    return this.q.recent.all(limit).map(windowRow);
  }

  /** How many folded windows the edge published another root for. */
  mismatches(): number {
    return this.q.mismatches.get()!.n;
  }

  /** Windows folded so far. */
  count(): number {
    return this.q.count.get()!.n;
  }
}

/** One tx's end in the fold: applied (with what moved) or void (with its code). */
export interface MainOutcome {
  txid: string;
  kind: 'main' | 'conversion';
  status: 'applied' | 'void';
  code?: string;
  amount?: string;
  from?: string;
  to?: string;
}

interface MainOutcomeRow {
  txid: string;
  window_no: number;
  kind: string;
  status: string;
  code: string | null;
  amount: string | null;
  from_addr: string | null;
  to_addr: string | null;
}

function outcomeOf(r: MainOutcomeRow): MainOutcome & { window: number } {
  return {
    txid: r.txid,
    window: r.window_no,
    kind: r.kind as MainOutcome['kind'],
    status: r.status as MainOutcome['status'],
    ...(r.code !== null ? { code: r.code } : {}),
    ...(r.amount !== null ? { amount: r.amount } : {}),
    ...(r.from_addr !== null ? { from: r.from_addr } : {}),
    ...(r.to_addr !== null ? { to: r.to_addr } : {}),
  };
}

interface ReleaseRow {
  sector: number;
  seq: number;
  window_no: number;
  id: string;
  to_addr: string;
  amount: string;
  reason: string;
  txid: string;
}

function releaseOf(r: ReleaseRow): Release {
  return {
    id: r.id,
    seq: BigInt(r.seq),
    window: r.window_no,
    sectorId: r.sector,
    to: fromHex(r.to_addr),
    amount: BigInt(r.amount),
    reason: r.reason as Release['reason'],
    txid: r.txid,
  };
}

interface MainWindowDbRow {
  window_no: number;
  root: Bytes;
  edge_root: Bytes | null;
  result: string;
  folded_ms: number;
}

function windowRow(r: MainWindowDbRow): MainWindowRow {
  return { window: r.window_no, root: new Uint8Array(r.root), edgeRoot: r.edge_root && new Uint8Array(r.edge_root), result: r.result, foldedMs: r.folded_ms };
}

function prepareMain(db: Database.Database) {
  return {
    ledger: db.prepare<[], { window_no: number; state: string }>('SELECT window_no, state FROM main_ledger WHERE id = 1'),
    putLedger: db.prepare<[number, string]>('INSERT INTO main_ledger (id, window_no, state) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET window_no = excluded.window_no, state = excluded.state'),
    putWindow: db.prepare<[number, Bytes, Bytes | null, string, number]>('INSERT INTO main_windows (window_no, root, edge_root, result, folded_ms) VALUES (?, ?, ?, ?, ?)'),
    window: db.prepare<[number], MainWindowDbRow>('SELECT * FROM main_windows WHERE window_no = ?'),
    recent: db.prepare<[number], MainWindowDbRow>('SELECT * FROM main_windows ORDER BY window_no DESC LIMIT ?'),
    after: db.prepare<[number, number], MainWindowDbRow>('SELECT * FROM main_windows WHERE window_no > ? ORDER BY window_no LIMIT ?'),
    mismatches: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM main_windows WHERE edge_root IS NOT NULL AND edge_root != root'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM main_windows'),
    setEdgeRoot: db.prepare<[Bytes, number]>('UPDATE main_windows SET edge_root = ? WHERE window_no = ?'),
    putOutcome: db.prepare<[string, number, string, string, string | null, string | null, string | null, string | null]>(
      'INSERT OR REPLACE INTO main_outcomes (txid, window_no, kind, status, code, amount, from_addr, to_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    outcome: db.prepare<[string], MainOutcomeRow>('SELECT * FROM main_outcomes WHERE txid = ?'),
    outcomesOf: db.prepare<[string, string, number], MainOutcomeRow>(
      "SELECT * FROM main_outcomes WHERE status = 'applied' AND (from_addr = ? OR to_addr = ?) ORDER BY window_no DESC, txid LIMIT ?",
    ),
    awaiting: db.prepare<[number], { window_no: number }>('SELECT window_no FROM main_windows WHERE edge_root IS NULL ORDER BY window_no LIMIT ?'),
    putRelease: db.prepare<[number, number, number, string, string, string, string, string]>(
      'INSERT INTO main_releases (sector, seq, window_no, id, to_addr, amount, reason, txid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    release: db.prepare<[number, number], ReleaseRow>('SELECT * FROM main_releases WHERE sector = ? AND seq = ?'),
    releasesFrom: db.prepare<[number, number, number], ReleaseRow>('SELECT * FROM main_releases WHERE sector = ? AND seq >= ? ORDER BY seq LIMIT ?'),
    releaseCount: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM main_releases WHERE sector = ?'),
  };
}

// --- statements ------------------------------------------------------------

function prepareMempool(db: Database.Database) {
  const cols = `txid, raw, received_ms`;
  return {
    put: db.prepare<[Bytes, Bytes, string, Bytes, string, number]>(
      `INSERT INTO mempool (txid, raw, fee, sender, nonce, received_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (txid) DO NOTHING`,
    ),
    get: db.prepare<[Bytes], MempoolRow>(`SELECT ${cols} FROM mempool WHERE txid = ?`),
    has: db.prepare<[Bytes], { one: 1 }>(`SELECT 1 AS one FROM mempool WHERE txid = ?`),
    remove: db.prepare<[Bytes]>(`DELETE FROM mempool WHERE txid = ?`),
    count: db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM mempool`),
    byFee: db.prepare<[number], MempoolRow>(`SELECT ${cols} FROM mempool ORDER BY fee DESC, received_ms, txid LIMIT ?`),
    bySender: db.prepare<[Bytes, number], MempoolRow>(
      `SELECT ${cols} FROM mempool WHERE sender = ? ORDER BY nonce, received_ms, txid LIMIT ?`,
    ),
  };
}

function preparePeers(db: Database.Database) {
  return {
    insert: db.prepare<[string]>(`INSERT INTO peers (url) VALUES (?) ON CONFLICT (url) DO NOTHING`),
    get: db.prepare<[string], PeerRow>(`SELECT * FROM peers WHERE url = ?`),
    update: db.prepare<[number, number, number | null, number, string]>(
      `UPDATE peers SET score = ?, banned_until_ms = ?, last_seen_ms = ?, failures = ? WHERE url = ?`,
    ),
    addScore: db.prepare<[number, string], { score: number }>(
      `UPDATE peers SET score = score + ? WHERE url = ? RETURNING score`,
    ),
    list: db.prepare<[number, number], PeerRow>(
      `SELECT * FROM peers WHERE banned_until_ms <= ?
       ORDER BY score DESC, last_seen_ms DESC NULLS LAST, url LIMIT ?`,
    ),
    remove: db.prepare<[string]>(`DELETE FROM peers WHERE url = ?`),
  };
}

function prepareMeta(db: Database.Database) {
  return {
    get: db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`),
    set: db.prepare<[string, string]>(
      `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ),
    delete: db.prepare<[string]>(`DELETE FROM meta WHERE key = ?`),
  };
}

function prepareChain(db: Database.Database) {
  const infoCols = `id, height, prev_id, cumulative_work, status, invalid_code, received_ms`;
  return {
    insertBlock: db.prepare<[Bytes, number, Bytes, Bytes, Bytes, string, number, BlockStatus, string | null]>(
      `INSERT INTO blocks
         (id, height, prev_id, header, block, cumulative_work, received_ms, status, invalid_code)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    setStatus: db.prepare<[BlockStatus, string | null, Bytes]>(
      `UPDATE blocks SET status = ?, invalid_code = ? WHERE id = ?`,
    ),
    hasBlock: db.prepare<[Bytes], { one: 1 }>(`SELECT 1 AS one FROM blocks WHERE id = ?`),
    anyBlock: db.prepare<[], { one: 1 }>(`SELECT 1 AS one FROM blocks LIMIT 1`),
    blockBytes: db.prepare<[Bytes], { block: Buffer }>(`SELECT block FROM blocks WHERE id = ?`),
    headerBytes: db.prepare<[Bytes], { header: Buffer }>(`SELECT header FROM blocks WHERE id = ?`),
    blockInfo: db.prepare<[Bytes], BlockRow>(`SELECT ${infoCols} FROM blocks WHERE id = ?`),
    children: db.prepare<[Bytes], { id: Buffer }>(`SELECT id FROM blocks WHERE prev_id = ? ORDER BY id`),
    tip: db.prepare<[], { id: Buffer; height: number; cumulative_work: string }>(
      `SELECT b.id, b.height, b.cumulative_work FROM best_chain c JOIN blocks b ON b.id = c.block_id
       ORDER BY c.height DESC LIMIT 1`,
    ),
    idAtHeight: db.prepare<[number], { block_id: Buffer }>(`SELECT block_id FROM best_chain WHERE height = ?`),
    blockAtHeight: db.prepare<[number], { block: Buffer }>(
      `SELECT b.block FROM best_chain c JOIN blocks b ON b.id = c.block_id WHERE c.height = ?`,
    ),
    isConnected: db.prepare<[Bytes], { one: 1 }>(`SELECT 1 AS one FROM best_chain WHERE block_id = ?`),
    appendBest: db.prepare<[number, Bytes]>(`INSERT INTO best_chain (height, block_id) VALUES (?, ?)`),
    deleteBest: db.prepare<[number]>(`DELETE FROM best_chain WHERE height = ?`),
    undo: db.prepare<[Bytes], { delta: Buffer }>(`SELECT delta FROM undo WHERE block_id = ?`),
    insertUndo: db.prepare<[Bytes, Bytes]>(`INSERT INTO undo (block_id, delta) VALUES (?, ?)`),
    deleteUndo: db.prepare<[Bytes]>(`DELETE FROM undo WHERE block_id = ?`),
    insertTx: db.prepare<[Bytes, Bytes, number]>(`INSERT INTO tx_index (txid, block_id, position) VALUES (?, ?, ?)`),
    deleteTxs: db.prepare<[Bytes]>(`DELETE FROM tx_index WHERE block_id = ?`),
    txLocation: db.prepare<[Bytes], { block_id: Buffer; position: number }>(
      `SELECT block_id, position FROM tx_index WHERE txid = ?`,
    ),
    account: db.prepare<[Bytes], AccountRow>(`SELECT balance, nonce FROM accounts WHERE address = ?`),
    putAccount: db.prepare<[Bytes, string, string]>(
      `INSERT INTO accounts (address, balance, nonce) VALUES (?, ?, ?)
       ON CONFLICT (address) DO UPDATE SET balance = excluded.balance, nonce = excluded.nonce`,
    ),
    deleteAccount: db.prepare<[Bytes]>(`DELETE FROM accounts WHERE address = ?`),
  };
}

// --- encodings -------------------------------------------------------------

/** A plain Uint8Array copy of a driver Buffer, so callers never hold driver memory. */
function copy(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b);
}

/**
 * A plain Uint8Array view of a driver Buffer, for decoders: `Buffer#slice`
 * shares memory and returns Buffers, so decoding a Buffer directly would hand
 * out Buffer views where core promises Uint8Array copies.
 */
function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function checkId(block: Block, id: Bytes): void {
  if (!equalBytes(blockId(block.header), id)) throw new RangeError(`id ${toHex(id)} is not the id of the block given`);
}

function checkStatus(status: BlockStatus, invalidCode: string | undefined): void {
  if (!BLOCK_STATUSES.includes(status)) throw new RangeError(`unknown block status ${String(status)}`);
  if ((status === 'invalid') !== (invalidCode !== undefined)) {
    throw new RangeError('an invalid block needs a rejection code, and only an invalid block has one');
  }
}

function nonNegative(v: bigint, what: string): void {
  if (typeof v !== 'bigint') throw new TypeError(`${what} must be a bigint`);
  if (v < 0n) throw new RangeError(`${what} must be ≥ 0`);
}

function amountText(v: bigint): string {
  nonNegative(v, 'an amount');
  return v.toString();
}

function u64Text(v: bigint): string {
  return v.toString().padStart(U64_DIGITS, '0');
}

function workText(v: bigint): string {
  nonNegative(v, 'cumulative work');
  const s = v.toString();
  if (s.length > WORK_DIGITS) throw new RangeError(`cumulative work above 10^${WORK_DIGITS}`);
  return s.padStart(WORK_DIGITS, '0');
}

function toBlockInfo(r: BlockRow): BlockInfo {
  return {
    id: copy(r.id),
    height: r.height,
    prevId: copy(r.prev_id),
    cumulativeWork: BigInt(r.cumulative_work),
    status: r.status,
    invalidCode: r.invalid_code,
    receivedMs: r.received_ms,
  };
}

function toMempoolEntry(r: MempoolRow): MempoolEntry {
  const tx = decodeTx(view(r.raw));
  return { id: copy(r.txid), tx, raw: copy(r.raw), fee: tx.fee, sender: txSender(tx), nonce: tx.nonce, receivedMs: r.received_ms };
}

function toPeer(r: PeerRow): PeerRecord {
  return {
    url: r.url,
    score: r.score,
    bannedUntilMs: r.banned_until_ms,
    lastSeenMs: r.last_seen_ms,
    failures: r.failures,
  };
}

/*
 * Undo data: version u8 (1) ‖ changes ‖ fees ‖ subsidy, where a change is
 * address (20 bytes) ‖ before.balance ‖ before.nonce ‖ after.balance ‖
 * after.nonce and every amount is a minimal big-endian integer of at most 32
 * bytes with a length prefix (balances are not bounded by u64 here).
 */
const UNDO_VERSION = 1;
const MAX_CHANGES = 1 << 20;

function writeAmount(w: Writer, v: bigint): void {
  nonNegative(v, 'an amount');
  w.bytes(v === 0n ? new Uint8Array(0) : bigIntToBytesBE(v, (v.toString(16).length + 1) >> 1), 32);
}

function readAmount(r: Reader, what: string): bigint {
  const b = r.bytes(32, what);
  if (b.length > 0 && b[0] === 0) throw new CodecError('codec-non-minimal', `${what}: leading zero byte`);
  return bytesToBigIntBE(b);
}

function writeAccount(w: Writer, a: AccountState): void {
  writeAmount(w, a.balance);
  writeAmount(w, a.nonce);
}

function readAccount(r: Reader, what: string): AccountState {
  return { balance: readAmount(r, `${what} balance`), nonce: readAmount(r, `${what} nonce`) };
}

/** @internal exported for tests. */
export function encodeDelta(d: StateDelta): Uint8Array {
  return encodeWith((w) => {
    w.u8(UNDO_VERSION);
    w.list(d.changes, MAX_CHANGES, (w2, c) => {
      w2.fixed(c.address, ADDRESS_BYTES);
      writeAccount(w2, c.before);
      writeAccount(w2, c.after);
    });
    writeAmount(w, d.fees);
    writeAmount(w, d.subsidy);
  });
}

/** @internal exported for tests. */
export function decodeDelta(bytes: Uint8Array): StateDelta {
  return decodeExact(
    bytes,
    (r) => {
      const v = r.u8('undo version');
      if (v !== UNDO_VERSION) throw new CodecError('codec-bad-enum', `unknown undo version ${v}`);
      const changes = r.list(
        MAX_CHANGES,
        (r2): AccountChange => ({
          address: r2.fixed(ADDRESS_BYTES, 'address'),
          before: readAccount(r2, 'before'),
          after: readAccount(r2, 'after'),
        }),
        'changes',
      );
      return { changes, fees: readAmount(r, 'fees'), subsidy: readAmount(r, 'subsidy') };
    },
    'undo',
  );
}
