/**
 * The coordinator's SQL schema, one for both runtimes (Durable Object SQLite
 * storage and better-sqlite3), as ordered migrations.
 *
 * `MIGRATIONS[i]` takes the schema from version i to i + 1. The version lives
 * in the `edge_schema` table (DO storage refuses `PRAGMA user_version`).
 * Steps are only ever appended, never edited: some database out there already
 * ran them. All pending steps and the version bump run in one transaction.
 *
 * Encodings: ids, txids and raw encodings are BLOBs; cumulative work is
 * decimal TEXT zero-padded to WORK_DIGITS so that text order is numeric order;
 * selections and proofs are JSON TEXT. Tables are STRICT, so a wrong type is
 * an error rather than a coercion.
 * @module
 */
import { PouwError } from '../core/errors.js';
import type { Sql } from './sql.js';

/** Digits of a zero-padded cumulative work (10^80 > 2^265). */
export const WORK_DIGITS = 80;

export const MIGRATIONS: readonly string[] = [
  // 1: header trees, beacons, MAIN txs, conversions, records, auth challenges, rate buckets.
  `
  CREATE TABLE edge_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  -- Every relayed header of every sector that passed the checks, best chain or not.
  CREATE TABLE headers (
    id          BLOB PRIMARY KEY,
    sector_id   INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    prev_id     BLOB NOT NULL,
    header      BLOB NOT NULL,
    time_ms     INTEGER NOT NULL,
    mtp_ms      INTEGER NOT NULL,
    work        TEXT NOT NULL,
    received_ms INTEGER NOT NULL
  ) STRICT;

  -- Each sector's best chain (most cumulative work), one row per height.
  CREATE TABLE best_chain (
    sector_id INTEGER NOT NULL,
    height    INTEGER NOT NULL,
    id        BLOB NOT NULL,
    mtp_ms    INTEGER NOT NULL,
    PRIMARY KEY (sector_id, height)
  ) STRICT;
  CREATE INDEX best_chain_by_mtp ON best_chain (sector_id, mtp_ms, height);

  -- Published beacons R_w with their inputs; a beacon once determined never changes.
  CREATE TABLE beacons (
    window_no INTEGER PRIMARY KEY,
    beacon    BLOB NOT NULL,
    prev      BLOB NOT NULL,
    cutoff_ms INTEGER NOT NULL,
    anchors   TEXT NOT NULL
  ) STRICT;

  -- MAIN txs taken in; beacon and selection are set at assignment.
  CREATE TABLE main_txs (
    txid        BLOB PRIMARY KEY,
    raw         BLOB NOT NULL,
    window_no   INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    beacon      BLOB,
    selection   TEXT,
    assigned_ms INTEGER
  ) STRICT;
  CREATE INDEX main_txs_pending ON main_txs (window_no) WHERE beacon IS NULL;

  -- Confirmed Convert txs; the witnesses are drawn like MAIN assignments.
  CREATE TABLE conversions (
    txid          BLOB PRIMARY KEY,
    raw           BLOB NOT NULL,
    origin_sector INTEGER NOT NULL,
    origin_block  BLOB NOT NULL,
    origin_height INTEGER NOT NULL,
    origin_proof  TEXT NOT NULL,
    window_no     INTEGER NOT NULL,
    received_ms   INTEGER NOT NULL,
    beacon        BLOB,
    selection     TEXT,
    assigned_ms   INTEGER
  ) STRICT;
  CREATE INDEX conversions_pending ON conversions (window_no) WHERE beacon IS NULL;

  -- Verified inclusion reports: a MAIN record or a witness record in a sector block.
  CREATE TABLE records (
    kind        TEXT NOT NULL CHECK (kind IN ('main', 'witness')),
    txid        BLOB NOT NULL,
    sector_id   INTEGER NOT NULL,
    block_id    BLOB NOT NULL,
    height      INTEGER NOT NULL,
    proof       TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, txid, sector_id, block_id)
  ) STRICT;

  -- Node authentication challenges: expire, and are spent by their first verified use.
  CREATE TABLE challenges (
    challenge  BLOB PRIMARY KEY,
    expires_ms INTEGER NOT NULL,
    used_ms    INTEGER
  ) STRICT;
  CREATE INDEX challenges_by_expiry ON challenges (expires_ms);

  -- Token buckets for per-IP and per-key rate limits (milli-tokens).
  CREATE TABLE rate_buckets (
    key        TEXT PRIMARY KEY,
    tokens     INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX rate_buckets_by_age ON rate_buckets (updated_ms);
  `,
  // 2: challenges bound to the key that asked for them; single-use socket tickets.
  `
  DELETE FROM challenges;
  ALTER TABLE challenges ADD COLUMN node_key BLOB NOT NULL DEFAULT x'';

  -- A node's socket ticket: spent by the upgrade that uses it, for its key and sector only.
  CREATE TABLE socket_tickets (
    ticket     BLOB PRIMARY KEY,
    sector_id  INTEGER NOT NULL,
    node_key   TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_ms    INTEGER
  ) STRICT;
  CREATE INDEX socket_tickets_by_expiry ON socket_tickets (expires_ms);
  `,
  // 3: one MAIN tx per (sender, nonce): a second spend of a nonce is refused, never reported final too.
  `
  ALTER TABLE main_txs ADD COLUMN sender BLOB;
  ALTER TABLE main_txs ADD COLUMN nonce TEXT;
  CREATE UNIQUE INDEX main_txs_by_sender_nonce ON main_txs (sender, nonce) WHERE sender IS NOT NULL;
  `,
  // 4: who relayed each header, so side-branch headers can be capped per key.
  `
  ALTER TABLE headers ADD COLUMN relayed_by TEXT;
  CREATE INDEX headers_by_relayer ON headers (sector_id, relayed_by);
  `,
  // 5: rate buckets move to memory (counting a request must never write to disk).
  `
  DROP TABLE rate_buckets;
  `,
  // 6: fallbacks pushed after a primary's deadline; the MAIN fold's results per window and its state.
  `
  ALTER TABLE main_txs ADD COLUMN fallback_sent TEXT;
  ALTER TABLE conversions ADD COLUMN fallback_sent TEXT;
  CREATE INDEX main_txs_fallback_due ON main_txs (window_no) WHERE beacon IS NOT NULL AND fallback_sent IS NULL;
  CREATE INDEX conversions_fallback_due ON conversions (window_no) WHERE beacon IS NOT NULL AND fallback_sent IS NULL;

  -- Each folded window that held txs: its root (mainStateRoot after it) and outcome.
  CREATE TABLE main_windows (
    window_no INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    result    TEXT NOT NULL,
    folded_ms INTEGER NOT NULL
  ) STRICT;

  -- The MAIN ledger after the last folded window (one row).
  CREATE TABLE main_ledger (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    window_no INTEGER NOT NULL,
    state     TEXT NOT NULL
  ) STRICT;
  `,
  // 7: compute tasks: the input blobs each task tx names (the tx itself is a MAIN tx in main_txs).
  `
  CREATE TABLE tasks (
    txid      BLOB PRIMARY KEY,
    sector_id INTEGER NOT NULL,
    inputs    TEXT NOT NULL,
    window_no INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX tasks_by_sector ON tasks (sector_id, window_no);

  -- The scheduling decision of each task, made once its escrow is final, with its inputs (core rankExecutors).
  CREATE TABLE task_schedule (
    txid       BLOB PRIMARY KEY,
    candidates TEXT NOT NULL,
    assigned   TEXT NOT NULL,
    decided_ms INTEGER NOT NULL
  ) STRICT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema to SCHEMA_VERSION; refuses a database from a newer version. */
export function migrate(sql: Sql): void {
  sql.transaction(() => {
    sql.script('CREATE TABLE IF NOT EXISTS edge_schema (version INTEGER NOT NULL) STRICT');
    const row = sql.one<{ version: number }>('SELECT version FROM edge_schema');
    const from = row?.version ?? 0;
    if (from > SCHEMA_VERSION) {
      throw new PouwError('edge-schema-newer', `the edge database has schema ${from}, newer than this code (${SCHEMA_VERSION})`);
    }
    for (let v = from; v < SCHEMA_VERSION; v++) sql.script(MIGRATIONS[v]!);
    if (row === undefined) sql.run('INSERT INTO edge_schema (version) VALUES (?)', SCHEMA_VERSION);
    else sql.run('UPDATE edge_schema SET version = ?', SCHEMA_VERSION);
  });
}
