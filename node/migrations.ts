/**
 * Schema of the node store and its ordered migrations.
 *
 * `MIGRATIONS[i]` takes a database from schema version i to i + 1; the
 * version lives in `PRAGMA user_version`, so a fresh file is version 0 and
 * the current schema is `SCHEMA_VERSION = MIGRATIONS.length`. Steps are only
 * ever appended: a shipped step is never edited, since some database out
 * there already ran it. All pending steps and the version bump run in one
 * immediate transaction, so a crash mid-migration leaves the old version.
 *
 * Version 1 holds the chain (blocks, best chain, accounts, undo, tx index,
 * meta); version 2 adds the node-local tables (mempool, peers); version 3
 * the node's MAIN fold (node/main-view.ts).
 *
 * Encodings: ids, addresses and raw bytes are BLOBs; bigints are decimal
 * TEXT. Cumulative work and mempool fees are zero-padded to a fixed width so
 * that SQL's text order is their numeric order; balances and nonces are plain
 * decimals. Tables are STRICT so a wrong type is an error, not a coercion.
 *
 * This module does not open files or choose pragmas; the store does.
 * @module
 */
import type Database from 'better-sqlite3';
import { PouwError } from '../core/errors.js';

/** "POUW" in ASCII, written to `PRAGMA application_id` so other SQLite files are refused. */
export const STORE_APPLICATION_ID = 0x504f5557;

/** Digits of a zero-padded cumulative work (10^80 > 2^265: far above any reachable sum). */
export const WORK_DIGITS = 80;
/** Digits of a zero-padded u64 (2^64 − 1 has 20). */
export const U64_DIGITS = 20;

/** Schema steps; index i upgrades version i to i + 1. Append only. */
export const MIGRATIONS: readonly string[] = [
  // 1: the chain.
  `
  PRAGMA application_id = ${STORE_APPLICATION_ID};

  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  -- Every block the node keeps, on the best chain or not.
  CREATE TABLE blocks (
    id              BLOB PRIMARY KEY,
    height          INTEGER NOT NULL,
    prev_id         BLOB NOT NULL,
    header          BLOB NOT NULL,
    block           BLOB NOT NULL,
    cumulative_work TEXT NOT NULL,
    received_ms     INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('valid-header', 'valid', 'invalid')),
    invalid_code    TEXT,
    CHECK ((status = 'invalid') = (invalid_code IS NOT NULL))
  ) STRICT;
  CREATE INDEX blocks_by_prev ON blocks (prev_id);

  -- The connected chain: one row per height from genesis to the tip.
  CREATE TABLE best_chain (
    height   INTEGER PRIMARY KEY,
    block_id BLOB NOT NULL UNIQUE REFERENCES blocks (id)
  ) STRICT;

  -- Account state at the tip; absent means zero balance and nonce 0.
  CREATE TABLE accounts (
    address BLOB PRIMARY KEY,
    balance TEXT NOT NULL,
    nonce   TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;

  -- The state delta of each connected block (its before values undo it).
  CREATE TABLE undo (
    block_id BLOB PRIMARY KEY REFERENCES best_chain (block_id),
    delta    BLOB NOT NULL
  ) STRICT;

  -- Where each transaction of the connected chain is.
  CREATE TABLE tx_index (
    txid     BLOB PRIMARY KEY,
    block_id BLOB NOT NULL REFERENCES best_chain (block_id),
    position INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX tx_index_by_block ON tx_index (block_id);
  `,
  // 2: node-local state.
  `
  CREATE TABLE mempool (
    txid        BLOB PRIMARY KEY,
    raw         BLOB NOT NULL,
    fee         TEXT NOT NULL,
    sender      BLOB NOT NULL,
    nonce       TEXT NOT NULL,
    received_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX mempool_by_sender ON mempool (sender, nonce);
  CREATE INDEX mempool_by_fee ON mempool (fee DESC, received_ms);

  CREATE TABLE peers (
    url             TEXT PRIMARY KEY,
    score           INTEGER NOT NULL DEFAULT 0,
    banned_until_ms INTEGER NOT NULL DEFAULT 0,
    last_seen_ms    INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  `,
  // 3: the node's own MAIN fold: each folded window (its root, the edge's, the outcome) and the ledger after the last.
  `
  CREATE TABLE main_windows (
    window_no INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    edge_root BLOB,
    result    TEXT NOT NULL,
    folded_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE main_ledger (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    window_no INTEGER NOT NULL,
    state     TEXT NOT NULL
  ) STRICT;

  -- Each tx a folded window applied or voided, by txid and by address (tx lookups and history without reading windows).
  CREATE TABLE main_outcomes (
    txid      TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('applied', 'void')),
    code      TEXT,
    amount    TEXT,
    from_addr TEXT,
    to_addr   TEXT
  ) STRICT;
  CREATE INDEX main_outcomes_from ON main_outcomes (from_addr, window_no);
  CREATE INDEX main_outcomes_to ON main_outcomes (to_addr, window_no);

  -- Every release the fold owes a sector, by its seq there: what settlements in sector blocks are checked against.
  CREATE TABLE main_releases (
    sector    INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    window_no INTEGER NOT NULL,
    id        TEXT NOT NULL,
    to_addr   TEXT NOT NULL,
    amount    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    txid      TEXT NOT NULL,
    PRIMARY KEY (sector, seq)
  ) STRICT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` to SCHEMA_VERSION. Throws PouwError `store-too-new` when the
 * file was written by a newer schema, and `store-foreign-file` when it is a
 * SQLite database that is not a node store.
 */
export function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    // Read again inside the lock: another process may have migrated meanwhile.
    const from = userVersion(db);
    if (from > SCHEMA_VERSION) {
      throw new PouwError(
        'store-too-new',
        `store schema version ${from} is newer than this program's ${SCHEMA_VERSION}; upgrade the program`,
        { found: from, known: SCHEMA_VERSION },
      );
    }
    if (from === 0) {
      const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_schema`).get() as { n: number };
      if (tables.n > 0) throw new PouwError('store-foreign-file', 'the file holds a database that is not a node store');
    } else {
      const app = db.pragma('application_id', { simple: true }) as number;
      if (app !== STORE_APPLICATION_ID) {
        throw new PouwError('store-foreign-file', `application id 0x${app.toString(16)} is not a node store's`);
      }
    }
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    if (from !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  run.immediate();
}
