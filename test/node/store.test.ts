import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { equalBytes, toHex } from '../../core/bytes.js';
import { PouwError } from '../../core/errors.js';
import { blockId } from '../../core/header.js';
import type { AccountState, StateDelta } from '../../core/state.js';
import { txId } from '../../core/tx.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../node/migrations.js';
import { decodeDelta, encodeDelta, openStore, type Store } from '../../node/store.js';
import {
  addresses,
  child,
  deltaOf,
  genesis,
  GENESIS_BALANCE,
  limits,
  MINER,
  SUBSIDY,
  transfer,
  type Linked,
} from './fixtures/store-chain.js';

const dirs: string[] = [];
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-store-'));
  dirs.push(dir);
  return join(dir, 'chain.db');
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function throwsCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, PouwError);
    assert.is((e as PouwError).code, code);
    return;
  }
  assert.unreachable(`expected PouwError ${code}`);
}

/** Every account row, hex address → "balance/nonce". */
function dumpAccounts(path: string): Record<string, string> {
  const raw = new Database(path, { readonly: true });
  try {
    const rows = raw.prepare('SELECT address, balance, nonce FROM accounts ORDER BY address').all() as {
      address: Buffer;
      balance: string;
      nonce: string;
    }[];
    return Object.fromEntries(rows.map((r) => [toHex(r.address), `${r.balance}/${r.nonce}`]));
  } finally {
    raw.close();
  }
}

function withGenesis(path = tempPath()): { store: Store; path: string; g: ReturnType<typeof genesis> } {
  const store = openStore(path, { limits });
  const g = genesis();
  store.initGenesis(g.block, g.id, g.delta);
  return { store, path, g };
}

/** Puts and connects a child of the tip carrying `txs`. */
function extend(store: Store, txs = [] as ReturnType<typeof transfer>[], salt = 0): Linked & { delta: StateDelta } {
  const tip = store.tip()!;
  const next = child(store.getBlock(tip.id)!, txs, salt);
  store.putBlock(next.block, { cumulativeWork: tip.cumulativeWork + 1n, status: 'valid-header' });
  const delta = deltaOf(store, next.block);
  store.connectBlock(next.block, next.id, delta);
  return { ...next, delta };
}

const [alice, bob, carol] = addresses as [Uint8Array, Uint8Array, Uint8Array];

test('a new store: WAL, foreign keys, current schema version', () => {
  const path = tempPath();
  openStore(path, { limits }).close();
  const raw = new Database(path, { readonly: true });
  assert.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  raw.close();
  const store = openStore(path, { limits });
  assert.is(store.tip(), undefined);
  assert.equal(store.account(alice), { balance: 0n, nonce: 0n });
  store.close();
  store.close(); // idempotent
});

test('initGenesis starts the chain once, with its allocations and undo data', () => {
  const { store, g } = withGenesis();
  const tip = store.tip()!;
  assert.is(toHex(tip.id), toHex(g.id));
  assert.is(tip.height, 0);
  assert.ok(tip.cumulativeWork > 0n);
  assert.equal(store.account(bob), { balance: GENESIS_BALANCE, nonce: 0n });
  assert.is(store.meta.get('genesis-id'), toHex(g.id));
  assert.equal(store.undo(g.id), g.delta);
  assert.is(store.blockInfo(g.id)!.status, 'valid');
  throwsCode(() => store.initGenesis(g.block, g.id, g.delta), 'store-not-empty');
  assert.throws(() => store.initGenesis(g.block, new Uint8Array(32), g.delta), RangeError);
  store.close();
});

test('putBlock is idempotent on the id; blocks, headers and children read back', () => {
  const { store, g } = withGenesis();
  const a = child(g.block, [transfer(0, 0n, bob, 5n, 1n)], 1);
  const b = child(g.block, [], 2);
  const first = store.putBlock(a.block, { cumulativeWork: 7n, status: 'valid-header', receivedMs: 123 });
  assert.equal(first, { id: a.id, inserted: true });
  const again = store.putBlock(a.block, { cumulativeWork: 9n, status: 'invalid', invalidCode: 'bad-x' });
  assert.equal(again, { id: a.id, inserted: false });
  assert.equal(store.blockInfo(a.id), {
    id: a.id,
    height: 1,
    prevId: g.id,
    cumulativeWork: 7n,
    status: 'valid-header',
    invalidCode: null,
    receivedMs: 123,
  });
  store.putBlock(b.block, { cumulativeWork: 7n, status: 'valid-header' });
  assert.ok(store.hasBlock(a.id));
  assert.not.ok(store.hasBlock(new Uint8Array(32)));
  assert.equal(store.getBlock(a.id), a.block);
  assert.equal(store.getHeader(b.id), b.block.header);
  assert.is(store.getBlock(new Uint8Array(32)), undefined);
  const kids = store.childrenOf(g.id).map(toHex).sort();
  assert.equal(kids, [toHex(a.id), toHex(b.id)].sort());
  assert.equal(store.childrenOf(a.id), []);
  // Not connected: the best chain still ends at genesis.
  assert.is(store.getBlockByHeight(1), undefined);
  assert.ok(store.setBlockStatus(b.id, 'invalid', 'bad-pow-high-hash'));
  assert.is(store.blockInfo(b.id)!.invalidCode, 'bad-pow-high-hash');
  assert.throws(() => store.setBlockStatus(b.id, 'invalid'), RangeError);
  assert.throws(() => store.putBlock(b.block, { cumulativeWork: 1n, status: 'valid', invalidCode: 'x' }), RangeError);
  assert.throws(() => store.putBlock(b.block, { cumulativeWork: -1n, status: 'valid' }), RangeError);
  throwsCode(() => store.connectBlock(b.block, b.id, deltaOf(store, b.block)), 'store-block-invalid');
  store.close();
});

test('connect then disconnect returns every balance exactly; genesis cannot be disconnected', () => {
  const { store, path, g } = withGenesis();
  const atGenesis = dumpAccounts(path);
  const txs1 = [transfer(0, 0n, bob, 1_000n, 10n), transfer(1, 0n, carol, 2_000n, 20n)];
  const txs2 = [transfer(0, 1n, carol, 3_000n, 30n)];
  for (const tx of [...txs1, ...txs2]) store.mempool.put(tx, 1);
  const b1 = extend(store, txs1, 1);
  const afterB1 = dumpAccounts(path);
  const b2 = extend(store, txs2, 2);
  const b3 = extend(store, [], 3);

  assert.is(store.tip()!.height, 3);
  assert.equal(store.account(alice), { balance: GENESIS_BALANCE - 1_010n - 3_030n, nonce: 2n });
  assert.equal(store.account(carol), { balance: GENESIS_BALANCE + 5_000n, nonce: 0n });
  assert.equal(store.account(MINER), { balance: 3n * SUBSIDY + 60n, nonce: 0n });
  assert.equal(store.getBlockByHeight(2), b2.block);
  assert.equal(store.idAtHeight(3), b3.id);
  assert.ok(store.isConnected(b1.id));
  assert.equal(store.txLocation(txId(txs1[1]!)), { blockId: b1.id, position: 1 });
  assert.equal(store.undo(b2.id), b2.delta);
  assert.is(store.mempool.count(), 0, 'connected txs leave the mempool');

  const d3 = store.disconnectTip();
  assert.is(toHex(d3.id), toHex(b3.id));
  const d2 = store.disconnectTip();
  assert.equal(d2.block, b2.block);
  assert.equal(d2.delta, b2.delta);
  assert.equal(dumpAccounts(path), afterB1);
  assert.is(store.txLocation(txId(txs2[0]!)), undefined);
  assert.is(store.undo(b2.id), undefined);
  assert.ok(store.hasBlock(b2.id), 'a disconnected block stays stored');
  assert.not.ok(store.isConnected(b2.id));
  const d1 = store.disconnectTip();
  assert.equal(d1.block.body.txs, txs1);
  assert.equal(dumpAccounts(path), atGenesis);
  assert.equal(store.tip()!.id, g.id);
  throwsCode(() => store.disconnectTip(), 'store-disconnect-genesis');

  // Reconnecting the same blocks gives the same state again.
  store.connectBlock(b1.block, b1.id, deltaOf(store, b1.block));
  assert.equal(dumpAccounts(path), afterB1);
  store.close();
});

test('a refused connect changes nothing', () => {
  const { store, path, g } = withGenesis();
  const b1 = extend(store, [transfer(0, 0n, bob, 5n, 1n)], 1);
  const before = dumpAccounts(path);
  const tip = store.tip();

  const sibling = child(g.block, [], 9);
  store.putBlock(sibling.block, { cumulativeWork: 1n, status: 'valid-header' });
  throwsCode(() => store.connectBlock(sibling.block, sibling.id, deltaOf(store, sibling.block)), 'store-not-tip-child');

  const unknown = child(b1.block, [], 1);
  throwsCode(() => store.connectBlock(unknown.block, unknown.id, deltaOf(store, unknown.block)), 'store-unknown-block');

  // A delta computed on other state: the first change is right, the second is stale.
  const next = child(b1.block, [transfer(0, 1n, bob, 5n, 1n)], 2);
  store.putBlock(next.block, { cumulativeWork: 2n, status: 'valid-header' });
  const good = deltaOf(store, next.block);
  const stale: StateDelta = {
    ...good,
    changes: good.changes.map((c, i) => (i === 1 ? { ...c, before: { ...c.before, balance: c.before.balance - 1n } } : c)),
  };
  store.mempool.put(next.block.body.txs[0]!, 1);
  throwsCode(() => store.connectBlock(next.block, next.id, stale), 'store-state-mismatch');
  assert.equal(dumpAccounts(path), before);
  assert.equal(store.tip(), tip);
  assert.is(store.undo(next.id), undefined);
  assert.is(store.mempool.count(), 1);
  assert.is(store.blockInfo(next.id)!.status, 'valid-header');
  assert.is(store.txLocation(txId(next.block.body.txs[0]!)), undefined);

  assert.throws(() => store.connectBlock(next.block, b1.id, good), RangeError);
  store.connectBlock(next.block, next.id, good);
  assert.is(store.tip()!.height, 2);
  assert.is(store.blockInfo(next.id)!.status, 'valid');
  store.close();
});

test('transaction() makes a disconnect and its mempool returns one unit', () => {
  const { store, path } = withGenesis();
  const tx = transfer(0, 0n, bob, 5n, 1n);
  extend(store, [tx], 1);
  const before = dumpAccounts(path);
  try {
    store.transaction(() => {
      const gone = store.disconnectTip();
      for (const t of gone.block.body.txs) store.mempool.put(t, 2);
      throw new Error('crash before commit');
    });
  } catch (e) {
    assert.is((e as Error).message, 'crash before commit');
  }
  assert.is(store.tip()!.height, 1);
  assert.equal(dumpAccounts(path), before);
  assert.is(store.mempool.count(), 0);
  store.transaction(() => {
    const gone = store.disconnectTip();
    for (const t of gone.block.body.txs) store.mempool.put(t, 2);
  });
  assert.is(store.tip()!.height, 0);
  assert.ok(store.mempool.has(txId(tx)));
  store.close();
});

test('mempool: put, get, list by fee or by sender, count, remove', () => {
  const store = openStore(tempPath(), { limits });
  const t1 = transfer(0, 0n, bob, 5n, 10n);
  const t2 = transfer(0, 1n, bob, 5n, 30n);
  const t3 = transfer(1, 0n, carol, 5n, 20n);
  const t4 = transfer(2, 0n, alice, 5n, 18_000_000_000_000_000_000n);
  assert.ok(store.mempool.put(t1, 100));
  assert.ok(store.mempool.put(t2, 101));
  assert.ok(store.mempool.put(t3, 102));
  assert.ok(store.mempool.put(t4, 103));
  assert.not.ok(store.mempool.put(t1, 999), 'a duplicate is ignored');
  assert.is(store.mempool.count(), 4);
  const e = store.mempool.get(txId(t2))!;
  assert.equal(e.tx, t2);
  assert.equal(e.sender, alice);
  assert.is(e.nonce, 1n);
  assert.is(e.fee, 30n);
  assert.is(e.receivedMs, 101);
  assert.equal(store.mempool.list().map((x) => x.fee), [t4.fee, 30n, 20n, 10n], 'fee order is numeric, u64 included');
  assert.equal(store.mempool.list({ limit: 2 }).length, 2);
  assert.equal(store.mempool.list({ sender: alice }).map((x) => x.nonce), [0n, 1n]);
  assert.is(store.mempool.remove([txId(t1), txId(t3), new Uint8Array(32)]), 2);
  assert.not.ok(store.mempool.has(txId(t1)));
  assert.is(store.mempool.get(txId(t3)), undefined);
  assert.is(store.mempool.count(), 2);
  store.close();
});

test('peers: upsert, score, ban, list, remove', () => {
  const store = openStore(tempPath(), { limits });
  const p = store.peers;
  assert.equal(p.upsert('ws://a:1'), { url: 'ws://a:1', score: 0, bannedUntilMs: 0, lastSeenMs: null, failures: 0 });
  p.upsert('ws://b:1', { lastSeenMs: 50, failures: 2 });
  p.upsert('ws://c:1', { lastSeenMs: 60 });
  assert.is(p.addScore('ws://b:1', 5), 5);
  assert.is(p.addScore('ws://b:1', -2), 3);
  assert.is(p.addScore('ws://new:1', 1), 1, 'scoring an unknown peer adds it');
  assert.equal(p.get('ws://b:1'), { url: 'ws://b:1', score: 3, bannedUntilMs: 0, lastSeenMs: 50, failures: 2 });
  p.upsert('ws://b:1', { failures: 0 });
  assert.is(p.get('ws://b:1')!.score, 3, 'upsert keeps fields it is not given');
  p.ban('ws://c:1', 1_000);
  assert.equal(p.list({ nowMs: 999 }).map((x) => x.url), ['ws://b:1', 'ws://new:1', 'ws://a:1']);
  assert.equal(p.list({ nowMs: 1_000 }).map((x) => x.url), ['ws://b:1', 'ws://new:1', 'ws://c:1', 'ws://a:1']);
  assert.is(p.list({ includeBanned: true }).length, 4);
  assert.is(p.list({ nowMs: 0, limit: 1 }).length, 1);
  assert.ok(p.remove('ws://a:1'));
  assert.not.ok(p.remove('ws://a:1'));
  assert.is(p.get('ws://a:1'), undefined);
  assert.throws(() => p.addScore('ws://b:1', 0.5), RangeError);
  store.close();
});

test('meta: get, set, overwrite, delete', () => {
  const store = openStore(tempPath(), { limits });
  assert.is(store.meta.get('spec-hash'), undefined);
  store.meta.set('spec-hash', 'aa');
  store.meta.set('spec-hash', 'bb');
  assert.is(store.meta.get('spec-hash'), 'bb');
  assert.ok(store.meta.delete('spec-hash'));
  assert.is(store.meta.get('spec-hash'), undefined);
  store.close();
});

test('a reopened store keeps blocks, chain, state, mempool, peers and meta', () => {
  const { store, path, g } = withGenesis();
  const b1 = extend(store, [transfer(0, 0n, bob, 5n, 1n)], 1);
  const side = child(g.block, [], 5);
  store.putBlock(side.block, { cumulativeWork: 1n, status: 'invalid', invalidCode: 'bad-x' });
  const waiting = transfer(1, 0n, alice, 7n, 2n);
  store.mempool.put(waiting, 42);
  store.peers.upsert('ws://p:1', { score: 4, lastSeenMs: 9 });
  store.meta.set('spec-hash', 'cafe');
  const accounts = dumpAccounts(path);
  const tip = store.tip();
  store.close();

  const again = openStore(path, { limits });
  assert.equal(again.tip(), tip);
  assert.equal(again.getBlockByHeight(1), b1.block);
  assert.equal(again.undo(b1.id), b1.delta);
  assert.is(again.blockInfo(side.id)!.invalidCode, 'bad-x');
  assert.equal(dumpAccounts(path), accounts);
  assert.equal(again.mempool.get(txId(waiting))!.tx, waiting);
  assert.is(again.peers.get('ws://p:1')!.score, 4);
  assert.is(again.meta.get('spec-hash'), 'cafe');
  assert.is(again.meta.get('genesis-id'), toHex(g.id));
  again.close();
});

test('a version-1 store migrates to the current schema and keeps its data', () => {
  const path = tempPath();
  const raw = new Database(path);
  raw.exec(MIGRATIONS[0]!);
  raw.pragma('user_version = 1');
  raw.prepare(`INSERT INTO meta (key, value) VALUES ('spec-hash', 'v1')`).run();
  raw.close();

  const store = openStore(path, { limits });
  assert.is(store.meta.get('spec-hash'), 'v1');
  assert.ok(store.mempool.put(transfer(0, 0n, bob, 1n, 1n), 1));
  store.peers.upsert('ws://x:1');
  store.close();

  const fresh = tempPath();
  openStore(fresh, { limits }).close();
  const schema = (p: string) => {
    const db = new Database(p, { readonly: true });
    const out = {
      version: db.pragma('user_version', { simple: true }),
      sql: db.prepare(`SELECT type, name, sql FROM sqlite_schema ORDER BY name`).all(),
    };
    db.close();
    return out;
  };
  assert.is(schema(path).version, SCHEMA_VERSION);
  assert.equal(schema(path), schema(fresh), 'migrated and fresh schemas are the same');
});

test('a migration that fails leaves the store at its old version', () => {
  const path = tempPath();
  const raw = new Database(path);
  raw.exec(MIGRATIONS[0]!);
  raw.exec(`CREATE TABLE peers (x INTEGER)`); // step 2 creates mempool, then fails on peers
  raw.pragma('user_version = 1');
  raw.close();
  throwsCode(() => openStore(path, { limits }), 'store-open-failed');
  const db = new Database(path, { readonly: true });
  assert.is(db.pragma('user_version', { simple: true }), 1);
  assert.equal(db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'mempool'`).get(), { n: 0 });
  db.close();
});

test('a newer store, a foreign database and a non-database are refused', () => {
  const path = tempPath();
  openStore(path, { limits }).close();
  const raw = new Database(path);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  throwsCode(() => openStore(path, { limits }), 'store-too-new');
  const check = new Database(path, { readonly: true });
  assert.is(check.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1, 'the file is left alone');
  check.close();

  const foreign = tempPath();
  const f = new Database(foreign);
  f.exec(`CREATE TABLE things (a)`);
  f.close();
  throwsCode(() => openStore(foreign, { limits }), 'store-foreign-file');

  const junk = tempPath();
  writeFileSync(junk, 'not a database, not at all, no header here'.repeat(40));
  throwsCode(() => openStore(junk, { limits }), 'store-open-failed');
});

test('undo encoding round-trips amounts above u64 and rejects trailing bytes', () => {
  const d: StateDelta = {
    changes: [
      { address: alice, before: { balance: 0n, nonce: 0n }, after: { balance: 1n << 70n, nonce: 3n } },
      { address: bob, before: { balance: 255n, nonce: 256n }, after: { balance: 0n, nonce: 0n } },
    ],
    fees: 12n,
    subsidy: SUBSIDY,
  };
  assert.equal(decodeDelta(encodeDelta(d)), d);
  const bytes = encodeDelta(d);
  assert.throws(() => decodeDelta(Uint8Array.of(...bytes, 0)), /trailing/);
});

// --- crash consistency -------------------------------------------------------

const CHILD = fileURLToPath(new URL('./fixtures/store-crash-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CRASH_ROUNDS = 8;

interface Reported {
  op: number;
  tip: string;
  height: number;
}

/**
 * Runs the writer and returns its last report. With a delay, kills it that
 * long after its first report; with a kind, the writer kills itself inside
 * its first transaction of that kind.
 */
function runAndKill(path: string, how: { delayMs: number } | { dieIn: 'connect' | 'disconnect' }) {
  return new Promise<{ last: Reported; reports: number; died: boolean }>((resolve, reject) => {
    const args = ['--import', 'tsx', CHILD, path, ...('dieIn' in how ? [how.dieIn] : [])];
    const proc = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if ('delayMs' in how && !timer && out.includes('\n')) timer = setTimeout(() => proc.kill('SIGKILL'), how.delayMs);
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      // A line is complete only with its newline.
      const lines = out.split('\n').slice(0, -1);
      const reports = lines.filter((l) => l.startsWith('op '));
      const died = lines.some((l) => l.startsWith('dying '));
      const killed = 'delayMs' in how ? timer !== undefined : died;
      if (signal !== 'SIGKILL' || !killed || reports.length === 0) {
        reject(new Error(`writer ended by ${signal ?? `exit ${code}`} unexpectedly:\n${err}`));
        return;
      }
      const [, op, tip, height] = reports.at(-1)!.split(' ');
      resolve({ last: { op: Number(op), tip: tip!, height: Number(height) }, reports: reports.length, died });
    });
  });
}

/** Checks every cross-table invariant of a reopened store; returns its tip height. */
function audit(store: Store, path: string): void {
  const raw = new Database(path, { readonly: true });
  try {
    assert.is(raw.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(raw.pragma('foreign_key_check'), []);
    const best = raw.prepare(`SELECT height, block_id FROM best_chain ORDER BY height`).all() as {
      height: number;
      block_id: Buffer;
    }[];
    const tip = store.tip()!;
    assert.is(tip.height, best.length - 1, 'tip height = best-chain rows − 1');
    assert.is(toHex(tip.id), toHex(best.at(-1)!.block_id));

    const undoCount = (raw.prepare(`SELECT count(*) AS n FROM undo`).get() as { n: number }).n;
    assert.is(undoCount, best.length, 'undo rows exist exactly for the best chain');

    // Replay every stored delta from genesis: each `before` must be the state
    // the previous blocks left, and each non-genesis delta must be the delta
    // of its block on that state (no block applied in part).
    const replay = new Map<string, AccountState>();
    const sums = new Map<string, AccountState>();
    const view = { account: (a: Uint8Array) => replay.get(toHex(a)) ?? { balance: 0n, nonce: 0n } };
    const expectedTxs: string[] = [];
    let prev: Uint8Array | undefined;
    for (const { height, block_id } of best) {
      const id = Uint8Array.from(block_id);
      const block = store.getBlock(id)!;
      assert.is(block.header.height, height);
      assert.ok(equalBytes(blockId(block.header), id));
      if (prev) assert.ok(equalBytes(block.header.prevHash, prev), `height ${height} links to its parent`);
      assert.is(store.blockInfo(id)!.status, 'valid');
      const delta = store.undo(id);
      assert.ok(delta, `block at height ${height} has undo data`);
      if (height > 0) assert.equal(delta, deltaOf(view, block), `delta at height ${height} is its block's`);
      for (const c of delta!.changes) {
        const key = toHex(c.address);
        assert.equal(view.account(c.address), c.before, `before of ${key} at height ${height}`);
        replay.set(key, c.after);
        const s = sums.get(key) ?? { balance: 0n, nonce: 0n };
        sums.set(key, { balance: s.balance + c.after.balance - c.before.balance, nonce: s.nonce + c.after.nonce - c.before.nonce });
      }
      block.body.txs.forEach((tx, i) => expectedTxs.push(`${toHex(txId(tx))}:${toHex(id)}:${i}`));
      prev = id;
    }
    const stored = dumpAccounts(path);
    const fromSums = Object.fromEntries(
      [...sums].filter(([, a]) => a.balance !== 0n || a.nonce !== 0n).map(([k, a]) => [k, `${a.balance}/${a.nonce}`]),
    );
    assert.equal(stored, Object.fromEntries(Object.keys(fromSums).sort().map((k) => [k, fromSums[k]!])));

    const indexed = (raw.prepare(`SELECT txid, block_id, position FROM tx_index`).all() as {
      txid: Buffer;
      block_id: Buffer;
      position: number;
    }[]).map((r) => `${toHex(r.txid)}:${toHex(r.block_id)}:${r.position}`);
    assert.equal(indexed.sort(), expectedTxs.sort(), 'the tx index is exactly the best chain');
    const inBoth = raw.prepare(`SELECT count(*) AS n FROM mempool m JOIN tx_index t ON t.txid = m.txid`).get() as {
      n: number;
    };
    assert.is(inBoth.n, 0, 'no connected tx is still in the mempool');
  } finally {
    raw.close();
  }
}

test('a writer killed inside a connect or a disconnect transaction leaves the store before it', async () => {
  const { store, path } = withGenesis();
  store.close();
  for (const dieIn of ['connect', 'disconnect', 'connect', 'disconnect'] as const) {
    const run = await runAndKill(path, { dieIn });
    assert.ok(run.died);
    const s = openStore(path, { limits });
    try {
      audit(s, path);
      assert.is(Number(s.meta.get('crash-op') ?? '0'), run.last.op, `${dieIn}: the op in flight is rolled back`);
      assert.is(toHex(s.tip()!.id), run.last.tip);
    } finally {
      s.close();
    }
  }
});

test('a writer killed at random moments leaves the store before or after each block', async () => {
  const { store, path } = withGenesis();
  store.close();
  let reports = 0;
  let maxHeight = 0;
  for (let round = 0; round < CRASH_ROUNDS; round++) {
    const delayMs = Math.floor(Math.random() * 150);
    const run = await runAndKill(path, { delayMs });
    reports += run.reports;
    const s = openStore(path, { limits });
    try {
      audit(s, path);
      const op = Number(s.meta.get('crash-op') ?? '0');
      const tip = s.tip()!;
      const at = `round ${round}, killed ${delayMs} ms in, last report op ${run.last.op}`;
      // Everything reported was committed; at most the one op after it also was.
      if (op === run.last.op) {
        assert.is(toHex(tip.id), run.last.tip, at);
      } else {
        assert.is(op, run.last.op + 1, at);
        const last = Uint8Array.from(Buffer.from(run.last.tip, 'hex'));
        const extended = tip.height === run.last.height + 1 && equalBytes(s.getHeader(tip.id)!.prevHash, last);
        const retracted = tip.height === run.last.height - 1 && equalBytes(s.getHeader(last)!.prevHash, tip.id);
        assert.ok(extended || retracted, `${at}: the op after it was applied whole`);
      }
      maxHeight = Math.max(maxHeight, tip.height);
    } finally {
      s.close();
    }
  }
  assert.ok(reports > CRASH_ROUNDS * 2, 'the writer made progress between kills');
  assert.ok(maxHeight > 0);
});

test.run();
