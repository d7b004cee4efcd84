/**
 * The JSON of the MAIN ledger routes (api/routes.ts registers them): a
 * window's data with the proofs any node rechecks, the windows that hold
 * txs, the edge's fold state and accounts, and a folded window's outcome.
 * The node serves the same shapes on its local API (node/api.ts), computed
 * from its own header view.
 *
 * The window data is the only part a node takes from the edge, and it takes
 * nothing on trust: core `decideWindow` rechecks every tx, lock and record
 * proof against the node's own headers. The edge's root is there to be
 * compared, never adopted.
 *
 * Pure: no fetch, no storage, no clock.
 * @module
 */
import { toHex } from '../core/bytes.js';
import { encodeHeader } from '../core/header.js';
import { ADDRESS_BYTES } from '../core/keys.js';
import type { Batch, MainLedger, Release, ReleaseReason, VoidCode, WindowData, WindowResult } from '../core/main-ledger.js';
import { mainSupply, mainTreasuryAddress, RELEASE_REASONS } from '../core/main-ledger.js';
import { encodeLock } from '../core/lock.js';
import { encodeTx } from '../core/tx.js';
import { bigDecimalOf, HASH_BYTES, headerOf, hexOf, hexStringOf, intOf, listOf, lockOf, objectOf, proofJson, proofOf, stringOf, txOf, type ProofJson } from './codec.js';
import { reject } from './errors.js';

/** Most txs, conversions and records one window answer carries (an edge pages nothing inside a window). */
export const MAX_WINDOW_ITEMS = 20_000;
/** Most window numbers one list answer carries. */
export const MAX_WINDOW_LIST = 1000;

const windowNo = (v: unknown, what: string) => intOf(v, what, -1, Number.MAX_SAFE_INTEGER);

export interface WindowDataJson {
  window: number;
  /** R_{window+1}, hex. */
  beacon: string;
  main: string[];
  /** `tx`: the lock (core/lock.ts): a Convert tx's encoding, or a recycle lock's. */
  conversions: { tx: string; originBlock: string; originHeight: number; lockProof: ProofJson }[];
  records: { kind: 'main' | 'witness'; txid: string; sectorId: number; header: string; proof: ProofJson }[];
  /** The edge's mainStateRoot after this window, once it folded it; null before. */
  root: string | null;
}

export function windowDataJson(d: WindowData, root: Uint8Array | null): WindowDataJson {
  return {
    window: d.window,
    beacon: toHex(d.beacon),
    main: d.main.map((tx) => toHex(encodeTx(tx))),
    conversions: d.conversions.map((c) => ({ tx: toHex(encodeLock(c.lock)), originBlock: toHex(c.originBlock), originHeight: c.originHeight, lockProof: proofJson(c.lockProof) })),
    records: d.records.map((r) => ({ kind: r.kind, txid: toHex(r.txid), sectorId: r.sectorId, header: toHex(encodeHeader(r.header)), proof: proofJson(r.proof) })),
    root: root && toHex(root),
  };
}

/** A window answer, decoded: every field checked, coded errors (`bad-request`, codec codes) for anything else. */
export function windowDataOf(json: unknown): { data: WindowData; root: Uint8Array | null } {
  const o = objectOf(json, 'window');
  const data: WindowData = {
    window: windowNo(o.window, 'window'),
    beacon: hexOf(o.beacon, 'beacon', { exact: HASH_BYTES }),
    main: listOf(o.main, 'main', MAX_WINDOW_ITEMS).map((v, i) => txOf(v, `main[${i}]`).tx),
    conversions: listOf(o.conversions, 'conversions', MAX_WINDOW_ITEMS).map((v, i) => {
      const c = objectOf(v, `conversions[${i}]`);
      return {
        lock: lockOf(c.tx, `conversions[${i}].tx`).lock,
        originBlock: hexOf(c.originBlock, `conversions[${i}].originBlock`, { exact: HASH_BYTES }),
        originHeight: intOf(c.originHeight, `conversions[${i}].originHeight`, 0, Number.MAX_SAFE_INTEGER),
        lockProof: proofOf(c.lockProof),
      };
    }),
    records: listOf(o.records, 'records', MAX_WINDOW_ITEMS).map((v, i) => {
      const r = objectOf(v, `records[${i}]`);
      const kind = r.kind === 'main' || r.kind === 'witness' ? r.kind : reject('bad-request', `records[${i}].kind must be main or witness`);
      return {
        kind,
        txid: hexOf(r.txid, `records[${i}].txid`, { exact: HASH_BYTES }),
        sectorId: intOf(r.sectorId, `records[${i}].sectorId`, 1, 0xffffffff),
        header: headerOf(r.header, `records[${i}].header`),
        proof: proofOf(r.proof),
      };
    }),
  };
  const root = o.root === null ? null : hexOf(o.root, 'root', { exact: HASH_BYTES });
  return { data, root };
}

export interface WindowListJson {
  /** Windows after `after` holding txs, ascending. */
  windows: number[];
}

export function windowListOf(json: unknown): WindowListJson {
  const o = objectOf(json, 'window list');
  return { windows: listOf(o.windows, 'windows', MAX_WINDOW_LIST).map((v, i) => windowNo(v, `windows[${i}]`)) };
}

export interface PoolJson {
  sectorId: number;
  /** Reserves: sector tokens and virtual MAIN, base units. */
  sector: string;
  main: string;
  /** The sector treasury: tokens locked by conversions and released out of it. */
  locked: string;
  released: string;
}

export interface MainStateJson {
  /** The last window folded (−1: none) and the last decided one on this side's chains. */
  window: number;
  decidedThrough: number;
  root: string;
  supply: string;
  minted: string;
  burnt: string;
  treasury: { address: string; balance: string };
  accounts: number;
  pools: PoolJson[];
}

export function mainStateJson(l: MainLedger, root: Uint8Array, decidedThrough: number): MainStateJson {
  const t = toHex(mainTreasuryAddress());
  return {
    window: l.window,
    decidedThrough,
    root: toHex(root),
    supply: mainSupply(l).toString(),
    minted: l.minted.toString(),
    burnt: l.burnt.toString(),
    treasury: { address: t, balance: (l.accounts.get(t)?.balance ?? 0n).toString() },
    accounts: l.accounts.size,
    pools: [...l.pools].map(([id, p]) => {
      const tr = l.treasuries.get(id)!;
      return { sectorId: id, sector: p.sector.toString(), main: p.main.toString(), locked: tr.locked.toString(), released: tr.released.toString() };
    }),
  };
}

export function mainStateOf(json: unknown): MainStateJson {
  const o = objectOf(json, 'main state');
  const t = objectOf(o.treasury, 'treasury');
  return {
    window: windowNo(o.window, 'window'),
    decidedThrough: intOf(o.decidedThrough, 'decidedThrough', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    root: hexStringOf(o.root, 'root', HASH_BYTES),
    supply: bigDecimalOf(o.supply, 'supply'),
    minted: bigDecimalOf(o.minted, 'minted'),
    burnt: bigDecimalOf(o.burnt, 'burnt'),
    treasury: { address: hexStringOf(t.address, 'treasury.address', ADDRESS_BYTES), balance: bigDecimalOf(t.balance, 'treasury.balance') },
    accounts: intOf(o.accounts, 'accounts', 0, Number.MAX_SAFE_INTEGER),
    pools: listOf(o.pools, 'pools', 1024).map((v, i) => {
      const p = objectOf(v, `pools[${i}]`);
      return {
        sectorId: intOf(p.sectorId, `pools[${i}].sectorId`, 1, 0xffffffff),
        sector: bigDecimalOf(p.sector, `pools[${i}].sector`),
        main: bigDecimalOf(p.main, `pools[${i}].main`),
        locked: bigDecimalOf(p.locked, `pools[${i}].locked`),
        released: bigDecimalOf(p.released, `pools[${i}].released`),
      };
    }),
  };
}

export interface MainAccountJson {
  address: string;
  balance: string;
  nonce: string;
  /** The last folded window the balance is as of. */
  window: number;
}

export function mainAccountOf(json: unknown): MainAccountJson {
  const o = objectOf(json, 'account');
  return {
    address: hexStringOf(o.address, 'address', ADDRESS_BYTES),
    balance: bigDecimalOf(o.balance, 'balance'),
    nonce: bigDecimalOf(o.nonce, 'nonce'),
    window: windowNo(o.window, 'window'),
  };
}

export interface WindowResultJson {
  window: number;
  root: string;
  applied: { txid: string; kind: 'main' | 'conversion'; amount: string; from: string; to: string }[];
  void: { txid: string; kind: 'main' | 'conversion'; code: VoidCode }[];
  /** `seq`: the release's place among its sector's (decimal), what that sector's settlements count by. */
  releases: { id: string; seq: string; sectorId: number; to: string; amount: string; reason: Release['reason']; txid: string }[];
  batches: { sectorId: number; converted: string; minted: string; feeMain: string; feeReleased: string }[];
  /** Txs of the window data that are no part of the ledger (bad signature, bad lock, repeat). */
  ignored: { txid: string; code: string }[];
}

/** A node's `GET /v1/main/settlements`: its sector's releases owed by the fold against those its best chain applied. */
export interface SettlementsJson {
  sectorId: number;
  /** Releases the node's fold owes this sector so far, and how many its best chain applied (the treasury's nonce). */
  owed: string;
  applied: string;
  /** Sector tokens in the sector treasury. */
  treasury: string;
  completeThrough: number;
  /** Blocks waiting for the fold to judge their settlements. */
  heldBlocks: number;
  /** The next releases due, in seq order (at most 16). */
  next: { seq: string; window: number; id: string; to: string; amount: string; reason: Release['reason']; txid: string }[];
}

export function windowResultJson(r: WindowResult, ignored: { txid: string; code: string }[]): WindowResultJson {
  return {
    window: r.window,
    root: toHex(r.root),
    applied: r.applied.map((a) => ({ txid: a.txid, kind: a.kind, amount: a.amount.toString(), from: toHex(a.from), to: toHex(a.to) })),
    void: r.void.map((v) => ({ ...v })),
    releases: r.releases.map((x) => ({ id: x.id, seq: x.seq.toString(), sectorId: x.sectorId, to: toHex(x.to), amount: x.amount.toString(), reason: x.reason, txid: x.txid })),
    batches: r.batches.map((b: Batch) => ({
      sectorId: b.sectorId,
      converted: b.converted.toString(),
      minted: b.minted.toString(),
      feeMain: b.feeMain.toString(),
      feeReleased: b.feeReleased.toString(),
    })),
    ignored,
  };
}

export function windowResultOf(json: unknown): WindowResultJson {
  const o = objectOf(json, 'window result');
  const kindOf = (v: unknown, what: string) => (v === 'main' || v === 'conversion' ? v : reject('bad-request', `${what} must be main or conversion`));
  return {
    window: windowNo(o.window, 'window'),
    root: hexStringOf(o.root, 'root', HASH_BYTES),
    applied: listOf(o.applied, 'applied', MAX_WINDOW_ITEMS).map((v, i) => {
      const a = objectOf(v, `applied[${i}]`);
      return {
        txid: hexStringOf(a.txid, `applied[${i}].txid`, HASH_BYTES),
        kind: kindOf(a.kind, `applied[${i}].kind`),
        amount: bigDecimalOf(a.amount, `applied[${i}].amount`),
        from: hexStringOf(a.from, `applied[${i}].from`, ADDRESS_BYTES),
        to: hexStringOf(a.to, `applied[${i}].to`, ADDRESS_BYTES),
      };
    }),
    void: listOf(o.void, 'void', MAX_WINDOW_ITEMS).map((v, i) => {
      const a = objectOf(v, `void[${i}]`);
      return { txid: hexStringOf(a.txid, `void[${i}].txid`, HASH_BYTES), kind: kindOf(a.kind, `void[${i}].kind`), code: stringOf(a.code, `void[${i}].code`) as VoidCode };
    }),
    releases: listOf(o.releases, 'releases', MAX_WINDOW_ITEMS).map((v, i) => {
      const x = objectOf(v, `releases[${i}]`);
      const reason = RELEASE_REASONS.includes(x.reason as ReleaseReason) ? (x.reason as ReleaseReason) : reject('bad-request', `releases[${i}].reason must be one of ${RELEASE_REASONS.join(', ')}`);
      return {
        id: hexStringOf(x.id, `releases[${i}].id`, HASH_BYTES),
        seq: bigDecimalOf(x.seq, `releases[${i}].seq`),
        sectorId: intOf(x.sectorId, `releases[${i}].sectorId`, 1, 0xffffffff),
        to: hexStringOf(x.to, `releases[${i}].to`, ADDRESS_BYTES),
        amount: bigDecimalOf(x.amount, `releases[${i}].amount`),
        reason,
        txid: hexStringOf(x.txid, `releases[${i}].txid`, HASH_BYTES),
      };
    }),
    batches: listOf(o.batches, 'batches', 1024).map((v, i) => {
      const b = objectOf(v, `batches[${i}]`);
      return {
        sectorId: intOf(b.sectorId, `batches[${i}].sectorId`, 1, 0xffffffff),
        converted: bigDecimalOf(b.converted, `batches[${i}].converted`),
        minted: bigDecimalOf(b.minted, `batches[${i}].minted`),
        feeMain: bigDecimalOf(b.feeMain, `batches[${i}].feeMain`),
        feeReleased: bigDecimalOf(b.feeReleased, `batches[${i}].feeReleased`),
      };
    }),
    ignored: listOf(o.ignored, 'ignored', MAX_WINDOW_ITEMS).map((v, i) => {
      const g = objectOf(v, `ignored[${i}]`);
      return { txid: hexStringOf(g.txid, `ignored[${i}].txid`, HASH_BYTES), code: stringOf(g.code, `ignored[${i}].code`) };
    }),
  };
}
