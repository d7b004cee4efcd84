/**
 * A tiny synchronous SQL interface, and its two drivers: Durable Object
 * SQLite storage (`ctx.storage.sql` with `ctx.storage.transactionSync`) and
 * better-sqlite3 on Node. The coordinator is written once against `Sql`.
 *
 * Values crossing the interface are strings, numbers (safe integers), null
 * and bytes; BLOBs always come back as plain `Uint8Array` (DO storage returns
 * ArrayBuffers, better-sqlite3 returns Buffers), so both runtimes hand the
 * coordinator identical rows. Bigints are not bound: the schema stores them
 * as decimal TEXT.
 *
 * `transaction(fn)` runs `fn` atomically; a throw rolls it back. Nested calls
 * are savepoints in both drivers, so an inner step can fail and be undone
 * while the outer transaction commits.
 *
 * This module opens no files and chooses no pragmas; the entries do.
 * @module
 */
import type BetterSqlite3 from 'better-sqlite3';

export type SqlValue = string | number | null | Uint8Array;
export type SqlRow = Record<string, SqlValue>;

export interface Sql {
  /** Every row of a query. */
  all<T = SqlRow>(query: string, ...params: SqlValue[]): T[];
  /** The first row of a query, or undefined. */
  one<T = SqlRow>(query: string, ...params: SqlValue[]): T | undefined;
  /** Runs a statement for its effect. */
  run(query: string, ...params: SqlValue[]): void;
  /** Runs several statements without parameters (schema steps). */
  script(statements: string): void;
  transaction<T>(fn: () => T): T;
}

/** Plain Uint8Array views of whatever byte type a driver returned. */
function normalizeRow(row: Record<string, unknown>): SqlRow {
  for (const k of Object.keys(row)) {
    const v = row[k];
    if (v instanceof ArrayBuffer) row[k] = new Uint8Array(v);
    else if (v instanceof Uint8Array && v.constructor !== Uint8Array) row[k] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return row as SqlRow;
}

/** The parts of Durable Object storage the driver uses (see edge/workers-types.d.ts). */
export interface DurableSqlStorage {
  sql: {
    exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] };
  };
  transactionSync<T>(fn: () => T): T;
}

/** The driver over a Durable Object's SQLite storage. */
export function durableObjectSql(storage: DurableSqlStorage): Sql {
  const all = <T>(query: string, ...params: SqlValue[]) => storage.sql.exec(query, ...params).toArray().map(normalizeRow) as T[];
  return {
    all,
    one: <T>(query: string, ...params: SqlValue[]) => all<T>(query, ...params)[0],
    run: (query, ...params) => void storage.sql.exec(query, ...params).toArray(),
    script: (statements) => void storage.sql.exec(statements).toArray(),
    transaction: (fn) => storage.transactionSync(fn),
  };
}

/** The driver over a better-sqlite3 database; statements are prepared once and cached, and so is the transaction wrapper. */
export function betterSqlite(db: BetterSqlite3.Database): Sql {
  // One wrapper for every call (building one per call costs more than a small transaction); nested calls are savepoints.
  const inTransaction = db.transaction((fn: () => unknown) => fn());
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (query: string) => {
    let s = cache.get(query);
    if (s === undefined) {
      s = db.prepare(query);
      cache.set(query, s);
    }
    return s;
  };
  return {
    all: <T>(query: string, ...params: SqlValue[]) => (prepare(query).all(...params) as Record<string, unknown>[]).map(normalizeRow) as T[],
    one: <T>(query: string, ...params: SqlValue[]) => {
      const row = prepare(query).get(...params) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : (normalizeRow(row) as T);
    },
    run: (query, ...params) => void prepare(query).run(...params),
    script: (statements) => void db.exec(statements),
    transaction: <T>(fn: () => T) => inTransaction.immediate(fn) as T,
  };
}
