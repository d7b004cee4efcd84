// The MAIN ledger: the deadline and fallback rule on random histories, the
// fold against an independent model (supply, non-negative balances, sector
// treasuries, order independence), one batch price per (sector, window),
// minMain refunds, double spends, fee payouts, and a window decided from
// hostile evidence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { bodyInclusionProof, bodyRoot, emptyBody, type BlockBody } from '../../core/block.js';
import { fromHex, toHex } from '../../core/bytes.js';
import { networkId } from '../../core/genesis.js';
import { blockId, type BlockHeader } from '../../core/header.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import {
  balanceOf,
  cloneLedger,
  decideTx,
  decideWindow,
  earlyFate,
  foldWindow,
  ledgerFromJson,
  ledgerToJson,
  mainStateRoot,
  mainSupply,
  mainTreasuryAddress,
  mintFor,
  newLedger,
  recordProgress,
  releaseFor,
  type ChainView,
  type DecidedConversion,
  type DecidedTx,
  type DecidedWindow,
  type RecordCandidate,
  type WindowData,
} from '../../core/main-ledger.js';
import { devnetSpec, type NetworkSpec } from '../../core/params.js';
import { lockId, type Lock } from '../../core/lock.js';
import { decodeWitnessRecord, encodeMainRecord, encodeWitnessRecord } from '../../core/record.js';
import { encodeSettlement } from '../../core/settlement.js';
import { selectSectors } from '../../core/select.js';
import { windowStart } from '../../core/time.js';
import { MAIN_CHAIN, signTx, txId, type Tx } from '../../core/tx.js';

const spec = devnetSpec();
const m = spec.main;
const nid = networkId(spec);
const keys = Array.from({ length: 5 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(40 + i)));
const addr = (i: number) => addressOf(keys[i]!.publicKey);
const ZERO_SIG = new Uint8Array(64);

const transfer = (from: number, nonce: bigint, to: number, amount: bigint, fee: bigint, sign = false): Tx => {
  const u = { version: 1, chain: MAIN_CHAIN, from: keys[from]!.publicKey, nonce, fee, payload: { kind: 'transfer' as const, to: addr(to), amount } };
  return sign ? signTx(u, keys[from]!.secretKey, nid) : { ...u, signature: ZERO_SIG };
};
const convert = (from: number, sectorId: number, nonce: bigint, amount: bigint, minMain: bigint, mainTo: number, sign = false): Tx => {
  const u = { version: 1, chain: sectorId, from: keys[from]!.publicKey, nonce, fee: 1n, payload: { kind: 'convert' as const, amount, minMain, mainTo: addr(mainTo) } };
  return sign ? signTx(u, keys[from]!.secretKey, nid) : { ...u, signature: ZERO_SIG };
};
const miner = (sectorId: number) => new Uint8Array(20).fill(0xa0 + sectorId);
const counted = (sectors: number[]): RecordCandidate[] => sectors.map((s) => ({ sectorId: s, blockWindow: 1, blockId: new Uint8Array(32).fill(s), miner: miner(s) }));
const final = (tx: Tx, sectors = [1, 2]): DecidedTx => ({ tx, txid: txId(tx), fate: { status: 'final', counted: counted(sectors) }, order: sectors });
const voided = (tx: Tx): DecidedTx => ({ tx, txid: txId(tx), fate: { status: 'void', code: 'not-recorded' }, order: [] });
/** A decided window; conversions given as decided convert txs become decided tx locks. */
const windowOf = (window: number, main: DecidedTx[], conversions: DecidedTx[] = []): DecidedWindow => ({
  window,
  main,
  conversions: conversions.map(({ tx, ...rest }) => ({ lock: { kind: 'tx' as const, tx }, ...rest })),
  ignored: [],
});

// ---------------------------------------------------------------- deadlines

test('deadline rule: a primary that records after w + fallbackWindows does not count; the next sector of the order takes its place', () => {
  const w = 10;
  const order = [3, 1, 4, 2];
  const rec = (sectorId: number, blockWindow: number): RecordCandidate => ({ sectorId, blockWindow, blockId: new Uint8Array(32).fill(sectorId), miner: miner(sectorId) });
  const settledAll = () => w + m.recordWindows;
  // Primary 1 records one window late, fallback 4 in time: 3 and 4 count.
  const late = recordProgress(order, 2, w, [rec(3, w + 1), rec(1, w + m.fallbackWindows + 1), rec(4, w + m.fallbackWindows + 2)], m, settledAll);
  assert.equal(late.states, ['counted', 'missed', 'counted', 'missed']);
  const fate = decideTx(late, 2);
  assert.ok(fate.status === 'final');
  if (fate.status === 'final') assert.equal(fate.counted.map((c) => c.sectorId), [3, 4]);
  // A record in the tx's own window, or past the recording deadline, never counts.
  const early = recordProgress(order, 2, w, [rec(3, w), rec(1, w + 1), rec(2, w + m.recordWindows + 1)], m, settledAll);
  assert.equal(early.states, ['missed', 'counted', 'missed', 'missed']);
  assert.equal(decideTx(early, 2), { status: 'void', code: 'not-recorded' });
  // Nothing is decided while a sector before the count could still record.
  const open = recordProgress(order, 2, w, [rec(1, w + 1), rec(4, w + 2)], m, (s) => (s === 3 ? w + 1 : settledAll()));
  assert.equal(decideTx(open, 2), { status: 'open' });
  assert.is(earlyFate(open, 2), 'final', 'two sectors count already: final whatever 3 does');
});

test('the edge\'s early answer never disagrees with the decision, on random histories', () => {
  const w = 5;
  fc.assert(
    fc.property(
      fc.shuffledSubarray([1, 2, 3, 4], { minLength: 3, maxLength: 4 }),
      fc.array(fc.record({ sector: fc.integer({ min: 1, max: 4 }), at: fc.integer({ min: w - 1, max: w + m.recordWindows + 3 }) }), { maxLength: 8 }),
      fc.array(fc.integer({ min: w - 2, max: w + m.recordWindows + 2 }), { minLength: 4, maxLength: 4 }),
      (order, recs, progressAt) => {
        const all: RecordCandidate[] = recs.map((r, i) => ({ sectorId: r.sector, blockWindow: r.at, blockId: new Uint8Array(32).fill(i), miner: miner(r.sector) }));
        // The chains advance: at step t each sector is settled through min(t, its final point), and a record is seen once settled past its block.
        const decided = decideTx(recordProgress(order, 2, w, all, m, () => w + m.recordWindows), 2);
        assert.ok(decided.status !== 'open');
        for (let t = w - 2; t <= w + m.recordWindows; t++) {
          const settled = (s: number) => Math.min(t, progressAt[s - 1]! < t ? t : progressAt[s - 1]!);
          const seen = all.filter((r) => r.blockWindow <= settled(r.sectorId));
          const early = earlyFate(recordProgress(order, 2, w, seen, m, settled), 2);
          if (early !== 'open') assert.is(early, decided.status, `step ${t}`);
        }
      },
    ),
    { numRuns: 400 },
  );
});

// ---------------------------------------------------------------- fold vs model

interface Model {
  bal: Map<string, bigint>;
  nonce: Map<string, bigint>;
  pools: Map<number, [bigint, bigint]>;
  locked: Map<number, bigint>;
  released: Map<number, bigint>;
  minted: bigint;
  burnt: bigint;
}

/** The fold written again, plainly: what the ledger must agree with. */
function modelFold(md: Model, wnd: DecidedWindow): void {
  const treasury = toHex(mainTreasuryAddress());
  const add = (k: string, v: bigint) => md.bal.set(k, (md.bal.get(k) ?? 0n) + v);
  const release = (s: number, v: bigint) => md.released.set(s, (md.released.get(s) ?? 0n) + v);
  const convs = [...wnd.conversions].sort((a, b) => (toHex(a.txid) < toHex(b.txid) ? -1 : 1));
  const payload = (c: DecidedConversion) => (c.lock.kind === 'tx' ? c.lock.tx.payload : undefined) as { amount: bigint; minMain: bigint; mainTo: Uint8Array };
  for (const sector of [1, 2, 3, 4]) {
    let live = convs.filter((c) => c.lock.kind === 'tx' && c.lock.tx.chain === sector);
    for (const c of live) md.locked.set(sector, (md.locked.get(sector) ?? 0n) + payload(c).amount);
    for (const c of live.filter((c) => c.fate.status !== 'final')) release(sector, payload(c).amount);
    live = live.filter((c) => c.fate.status === 'final');
    const [S, M] = md.pools.get(sector)!;
    const amt = (c: DecidedConversion) => payload(c).amount;
    const min = (c: DecidedConversion) => payload(c).minMain;
    let changed = true;
    while (changed && live.length > 0) {
      const d = live.reduce((s, c) => s + amt(c), 0n);
      const minted = (M * d) / (S + d);
      const keep = live.filter((c) => (minted * amt(c)) / d >= min(c));
      changed = keep.length !== live.length;
      for (const c of live.filter((c) => !keep.includes(c))) release(sector, amt(c));
      live = keep;
    }
    if (live.length === 0) continue;
    const d = live.reduce((s, c) => s + amt(c), 0n);
    const minted = (M * d) / (S + d);
    let paid = 0n;
    for (const c of live) {
      const share = (minted * amt(c)) / d;
      add(toHex(payload(c).mainTo), share);
      paid += share;
    }
    md.pools.set(sector, [S + d, M - paid]);
    md.minted += paid;
  }
  const fees: { sector: number; amount: bigint }[] = [];
  const txs = wnd.main.filter((t) => t.fate.status === 'final').sort((a, b) => (a.tx.nonce !== b.tx.nonce ? (a.tx.nonce < b.tx.nonce ? -1 : 1) : toHex(a.txid) < toHex(b.txid) ? -1 : 1));
  for (const t of txs) {
    const p = t.tx.payload as { to: Uint8Array; amount: bigint };
    const from = toHex(addressOf(t.tx.from));
    if ((md.nonce.get(from) ?? 0n) !== t.tx.nonce) continue;
    if ((md.bal.get(from) ?? 0n) < p.amount + t.tx.fee) continue;
    add(from, -(p.amount + t.tx.fee));
    md.nonce.set(from, t.tx.nonce + 1n);
    add(toHex(p.to), p.amount);
    const recs = t.fate.status === 'final' ? t.fate.counted : [];
    const toll = (t.tx.fee * BigInt(m.tollBps)) / 10_000n;
    const each = (t.tx.fee - toll) / BigInt(recs.length);
    add(treasury, t.tx.fee - each * BigInt(recs.length));
    if (each > 0n) for (const r of recs) fees.push({ sector: r.sectorId, amount: each });
  }
  for (const sector of [1, 2, 3, 4]) {
    const mine = fees.filter((f) => f.sector === sector);
    if (mine.length === 0) continue;
    const inMain = mine.reduce((s, f) => s + f.amount, 0n);
    const [S, M] = md.pools.get(sector)!;
    const available = (md.locked.get(sector) ?? 0n) - (md.released.get(sector) ?? 0n);
    const curve = (S * inMain) / (M + inMain);
    const out = curve < available ? curve : available;
    if (out === 0n) {
      add(treasury, inMain);
      continue;
    }
    let given = 0n;
    for (const f of mine) given += (out * f.amount) / inMain;
    release(sector, given);
    md.pools.set(sector, [S - given, M + inMain]);
    md.burnt += inMain;
  }
}

const arbWindow = (w: number) =>
  fc.record({
    convs: fc.array(
      fc.record({ from: fc.integer({ min: 0, max: 4 }), sector: fc.integer({ min: 1, max: 4 }), amount: fc.bigInt({ min: 1n, max: 10n ** 12n }), minMain: fc.bigInt({ min: 0n, max: 10n ** 12n }), to: fc.integer({ min: 0, max: 4 }), final: fc.boolean(), minZero: fc.boolean() }),
      { maxLength: 6 },
    ),
    txs: fc.array(
      fc.record({ from: fc.integer({ min: 0, max: 4 }), nonce: fc.bigInt({ min: 0n, max: 3n }), to: fc.integer({ min: 0, max: 4 }), amount: fc.bigInt({ min: 1n, max: 10n ** 11n }), fee: fc.bigInt({ min: 0n, max: 10n ** 6n }), final: fc.boolean(), sectors: fc.shuffledSubarray([1, 2, 3, 4], { minLength: 2, maxLength: 2 }) }),
      { maxLength: 8 },
    ),
  }).map((g) => {
    let salt = 0n;
    const conversions = g.convs.map((c) => {
      const tx = convert(c.from, c.sector, BigInt(w) * 100n + salt++, c.amount, c.minZero ? 0n : c.minMain, c.to);
      return c.final ? final(tx, [1, 2, 3, 4].filter((s) => s !== c.sector).slice(0, 2)) : voided(tx);
    });
    const main = g.txs.map((t) => {
      const tx = transfer(t.from, t.nonce, t.to, t.amount, t.fee + salt++);
      return t.final ? final(tx, t.sectors) : voided(tx);
    });
    return windowOf(w, main, conversions);
  });

test('the fold against an independent model: balances, pools, treasuries; supply = minted − burnt; nothing negative; arrival order changes nothing', () => {
  fc.assert(
    fc.property(fc.tuple(arbWindow(0), arbWindow(1), arbWindow(2), arbWindow(3)), fc.integer(), (windows, seed) => {
      const l = newLedger(spec);
      const shuffled = newLedger(spec);
      const md: Model = {
        bal: new Map(),
        nonce: new Map(),
        pools: new Map(spec.sectors.map((s) => [s.id, [s.initialReserves.sector, s.initialReserves.main]])),
        locked: new Map(),
        released: new Map(),
        minted: 0n,
        burnt: 0n,
      };
      const rnd = fc.sample(fc.infiniteStream(fc.integer()), { seed, numRuns: 1 })[0]!;
      const shuffle = <T>(xs: T[]) => {
        const a = [...xs];
        const it = rnd[Symbol.iterator]();
        for (let i = a.length - 1; i > 0; i--) {
          const j = Math.abs(it.next().value as number) % (i + 1);
          [a[i], a[j]] = [a[j]!, a[i]!];
        }
        return a;
      };
      const seqs = new Map<number, bigint>();
      for (const wnd of windows) {
        const r = foldWindow(l, wnd, spec);
        // Each sector's releases are numbered on from the last, in fold order: what its chain counts applied ones by.
        for (const x of r.releases) {
          const next = seqs.get(x.sectorId) ?? 0n;
          assert.is(x.seq, next, `seq of a release of sector ${x.sectorId}`);
          assert.is(x.window, wnd.window);
          seqs.set(x.sectorId, next + 1n);
        }
        for (const s of spec.sectors) assert.is(l.treasuries.get(s.id)!.releases, seqs.get(s.id) ?? 0n);
        const r2 = foldWindow(shuffled, { ...wnd, main: shuffle(wnd.main), conversions: shuffle(wnd.conversions) }, spec);
        assert.equal(r2.root, r.root, 'the order records arrive in changes nothing');
        modelFold(md, wnd);
        for (const [k, a] of l.accounts) {
          assert.ok(a.balance >= 0n);
          assert.is(a.balance, md.bal.get(k) ?? 0n, `balance of ${k}`);
        }
        for (const [k, v] of md.bal) if (v !== 0n) assert.is(balanceOf(l, k).balance, v);
        for (const s of spec.sectors) {
          const p = l.pools.get(s.id)!;
          assert.equal([p.sector, p.main], md.pools.get(s.id), `pool ${s.id}`);
          const t = l.treasuries.get(s.id)!;
          assert.is(t.locked, md.locked.get(s.id) ?? 0n);
          assert.is(t.released, md.released.get(s.id) ?? 0n);
          assert.ok(t.locked - t.released >= 0n, 'a sector treasury never goes below zero');
        }
        assert.is(mainSupply(l), l.minted - l.burnt, 'supply = minted − burnt');
        assert.is(l.minted, md.minted);
        assert.is(l.burnt, md.burnt);
        assert.is(r.releases.filter((x) => x.reason === 'fee').reduce((s, x) => s + x.amount, 0n) + r.releases.filter((x) => x.reason === 'refund').reduce((s, x) => s + x.amount, 0n) >= 0n, true);
      }
      // A stored ledger comes back the same.
      assert.equal(mainStateRoot(ledgerFromJson(JSON.parse(JSON.stringify(ledgerToJson(l))), spec)), mainStateRoot(l));
    }),
    { numRuns: 150 },
  );
});

// ---------------------------------------------------------------- prices, spends, fees

test('two conversions of a sector in one window get the same price; dust stays in the pool', () => {
  const l = newLedger(spec);
  const a = convert(0, 3, 0n, 3n * 10n ** 10n, 0n, 0);
  const b = convert(1, 3, 0n, 7n * 10n ** 10n, 0n, 1);
  const before = { ...l.pools.get(3)! };
  const r = foldWindow(l, windowOf(0, [], [final(a, [1, 2]), final(b, [1, 2])]), spec);
  const minted = mintFor(before, 10n ** 11n);
  const got = (i: number) => balanceOf(l, addr(i)).balance;
  assert.is(got(0), (minted * 3n) / 10n);
  assert.is(got(1), (minted * 7n) / 10n);
  // Same price: MAIN per token equal up to the rounding of one unit.
  assert.ok(got(0) * 7n <= got(1) * 3n + 7n && got(1) * 3n <= got(0) * 7n + 3n);
  assert.equal(r.batches, [{ sectorId: 3, converted: 10n ** 11n, minted: got(0) + got(1), feeMain: 0n, feeReleased: 0n }]);
  assert.is(l.pools.get(3)!.main, before.main - got(0) - got(1));
});

test('an attacker converting before and after a victim in the same window gains nothing over converting alone', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: 10n ** 14n }), fc.bigInt({ min: 1n, max: 10n ** 14n }), fc.bigInt({ min: 1n, max: 10n ** 14n }), (a1, v, a2) => {
      const alone = newLedger(spec);
      foldWindow(alone, windowOf(0, [], [final(convert(0, 2, 0n, a1 + a2, 0n, 0), [1, 3])]), spec);
      const sandwich = newLedger(spec);
      foldWindow(sandwich, windowOf(0, [], [final(convert(0, 2, 0n, a1, 0n, 0), [1, 3]), final(convert(1, 2, 0n, v, 0n, 1), [1, 3]), final(convert(0, 2, 1n, a2, 0n, 0), [1, 3])]), spec);
      assert.ok(balanceOf(sandwich, addr(0)).balance <= balanceOf(alone, addr(0)).balance);
    }),
    { numRuns: 300 },
  );
});

test('a conversion below its minMain is excluded before clearing and refunded on its origin; the rest clear at the better price', () => {
  const l = newLedger(spec);
  const big = convert(0, 1, 0n, 10n ** 14n, 0n, 0);
  const greedy = convert(1, 1, 0n, 10n ** 10n, 10n ** 10n, 1); // asks 1:1, the batch gives less
  const r = foldWindow(l, windowOf(0, [], [final(big, [2, 3]), final(greedy, [2, 3])]), spec);
  assert.equal(r.void, [{ txid: toHex(txId(greedy)), kind: 'conversion', code: 'below-min-main' }]);
  assert.equal(r.releases.map((x) => [x.reason, x.sectorId, toHex(x.to), x.amount]), [['refund', 1, toHex(addr(1)), 10n ** 10n]]);
  assert.is(balanceOf(l, addr(1)).balance, 0n);
  assert.is(balanceOf(l, addr(0)).balance, mintFor(spec.sectors[0]!.initialReserves, 10n ** 14n));
  // A conversion nobody witnessed is refunded too, and a lock mints once.
  const lonely = convert(2, 1, 0n, 5n, 0n, 2);
  const r2 = foldWindow(l, windowOf(1, [], [voided(lonely), final(big, [2, 3])]), spec);
  assert.equal(r2.void.map((v) => v.code).sort(), ['duplicate-conversion', 'not-witnessed']);
  assert.equal(r2.releases.map((x) => x.amount), [5n]);
  const t = l.treasuries.get(1)!;
  assert.is(t.locked - t.released, 10n ** 14n);
});

test('two MAIN txs spending the same nonce or balance in one window: exactly one applies, the other is void with its code', () => {
  const l = newLedger(spec);
  foldWindow(l, windowOf(0, [], [final(convert(0, 1, 0n, 10n ** 12n, 0n, 0), [2, 3])]), spec);
  const funds = balanceOf(l, addr(0)).balance;
  const a = transfer(0, 0n, 1, funds - 10n, 10n);
  const b = transfer(0, 0n, 2, funds - 10n, 10n);
  const c = transfer(0, 1n, 3, funds - 10n, 10n);
  const r = foldWindow(l, windowOf(1, [final(c), final(b), final(a)]), spec);
  const winner = toHex(txId(a)) < toHex(txId(b)) ? a : b;
  const loser = winner === a ? b : a;
  assert.equal(r.applied.map((x) => x.txid), [toHex(txId(winner))]);
  assert.equal(
    r.void.map((v) => [v.txid, v.code]).sort(),
    [
      [toHex(txId(loser)), 'tx-bad-nonce'],
      [toHex(txId(c)), 'tx-insufficient-funds'],
    ].sort(),
  );
  assert.is(balanceOf(l, addr(0)).balance, 0n);
  assert.is(balanceOf(l, addr(0)).nonce, 1n);
  // An unrecorded tx is void too, and spends nothing.
  const d = transfer(1, 0n, 0, 1n, 0n);
  const r2 = foldWindow(l, windowOf(2, [voided(d)]), spec);
  assert.equal(r2.void, [{ txid: toHex(txId(d)), kind: 'main', code: 'not-recorded' }]);
});

test('fees: the treasury keeps the toll, each recording miner is released (fee − toll)/records in its sector token at the batch price', () => {
  const l = newLedger(spec);
  // Fill sector treasuries 1 and 2 so there is something to release.
  foldWindow(l, windowOf(0, [], [final(convert(0, 1, 0n, 10n ** 12n, 0n, 0), [2, 3]), final(convert(1, 2, 0n, 10n ** 12n, 0n, 0), [1, 3])]), spec);
  const fee = 1_000_000n;
  const tx = transfer(0, 0n, 4, 1000n, fee);
  const pool1 = { ...l.pools.get(1)! };
  const r = foldWindow(l, windowOf(1, [final(tx, [1, 2])]), spec);
  const toll = (fee * BigInt(m.tollBps)) / 10_000n;
  const each = (fee - toll) / 2n;
  assert.is(balanceOf(l, mainTreasuryAddress()).balance, fee - 2n * each);
  const fees = r.releases.filter((x) => x.reason === 'fee');
  assert.equal(fees.map((x) => [x.sectorId, toHex(x.to)]), [[1, toHex(miner(1))], [2, toHex(miner(2))]]);
  assert.is(fees[0]!.amount, releaseFor(pool1, each));
  assert.is(l.burnt, 2n * each);
  assert.is(mainSupply(l), l.minted - l.burnt);
  // With an empty sector treasury nothing can be released: the share stays with the public treasury.
  const l2 = cloneLedger(newLedger(spec));
  l2.accounts.set(toHex(addr(0)), { balance: 10n ** 9n, nonce: 0n });
  foldWindow(l2, windowOf(0, [final(transfer(0, 0n, 1, 1n, fee), [3, 4])]), spec);
  assert.is(balanceOf(l2, mainTreasuryAddress()).balance, fee);
});

// ---------------------------------------------------------------- deciding from evidence

/** Best chains as a fake view: per sector a list of headers, all settled far. */
class FakeChains implements ChainView {
  chains = new Map<number, BlockHeader[]>();
  settled = new Map<number, number>();
  bestBlock(sectorId: number, id: Uint8Array) {
    const list = this.chains.get(sectorId) ?? [];
    const i = list.findIndex((h) => toHex(blockId(h)) === toHex(id));
    return i < 0 ? undefined : { header: list[i]!, confirmations: list.length - i };
  }
  settledThrough(sectorId: number) {
    return this.settled.get(sectorId) ?? 1_000;
  }
  add(sectorId: number, body: BlockBody, window: number): BlockHeader {
    const list = this.chains.get(sectorId) ?? [];
    const h: BlockHeader = {
      version: 1,
      sectorId,
      height: list.length + 1,
      prevHash: new Uint8Array(32),
      bodyRoot: bodyRoot(body),
      timeMs: windowStart(window, spec.genesisTimeMs, m.windowMs) + 1,
      bits: 0x207fffff,
      workKind: 'hash',
      nonce: BigInt(list.length),
    };
    list.push(h);
    this.chains.set(sectorId, list);
    return h;
  }
  bury(sectorId: number, n: number) {
    for (let i = 0; i < n; i++) this.add(sectorId, emptyBody(new Uint8Array(20)), 1);
  }
}

test('a lying edge cannot mint: without two counted witness records, from outside the order, outside the windows, with a forged proof, or on a lock off the best chain or short of confirmations, nothing counts', () => {
  const w = 3;
  const beacon = new Uint8Array(32).fill(0x5e);
  const origin = 2;
  const lock = convert(0, origin, 0n, 10n ** 10n, 0n, 0, true);
  const lockTxid = txId(lock);
  const order = selectSectors({ purpose: 'witness', beacon, txid: lockTxid, origin, sectors: spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight })), count: 2 });
  assert.ok(order.ok);
  if (!order.ok) return;
  const [p1, p2] = order.value.primary as [number, number];
  const outsider = origin; // the origin is never in its own witness order
  const setup = () => {
    const c = new FakeChains();
    const lockBody = { ...emptyBody(new Uint8Array(20).fill(1)), txs: [lock] };
    const originHeader = c.add(origin, lockBody, w);
    c.bury(origin, m.mainConfirmations);
    const lockProof = bodyInclusionProof(lockBody, 'txs', 0);
    const entry = encodeWitnessRecord({ window: w, originSector: origin, originBlock: blockId(originHeader), lock: { kind: 'tx', tx: lock }, lockProof });
    const witness = (sectorId: number, blockWindow = w + 1, e = entry) => {
      const body = { ...emptyBody(miner(sectorId)), witnessRecords: [e] };
      const header = c.add(sectorId, body, blockWindow);
      return { kind: 'witness' as const, txid: lockTxid, sectorId, header, proof: bodyInclusionProof(body, 'witnessRecords', 0) };
    };
    const base: WindowData = { window: w, beacon, main: [], conversions: [{ lock: { kind: 'tx', tx: lock }, originBlock: blockId(originHeader), originHeight: originHeader.height, lockProof }], records: [] };
    return { c, base, witness };
  };
  type Setup = ReturnType<typeof setup>;
  const fateWith = (records: (h: Setup) => WindowData['records'], conv?: (h: Setup) => void) => {
    const h = setup();
    const data: WindowData = { ...h.base, records: records(h) };
    conv?.(h);
    const d = decideWindow(spec, data, h.c, { networkId: nid })!;
    return d.conversions[0]?.fate.status ?? d.ignored.map((x) => x.code).join(',');
  };
  // The honest case: both primaries witnessed in time, the conversion is final.
  assert.is(fateWith((h) => [h.witness(p1), h.witness(p2)]), 'final');
  // One witness record only.
  assert.is(fateWith((h) => [h.witness(p1)]), 'void');
  // A record from the origin itself (outside the order) and one from p1.
  assert.is(fateWith((h) => [h.witness(p1), h.witness(outsider)]), 'void');
  // A record in the tx's own window (R_{w+1} not yet public) and one past the recording deadline.
  assert.is(fateWith((h) => [h.witness(p1), h.witness(p2, w)]), 'void');
  assert.is(fateWith((h) => [h.witness(p1), h.witness(p2, w + m.recordWindows + 1)]), 'void');
  // A forged proof: the entry in p2's block is another one.
  assert.is(
    fateWith((h) => {
      const forged = h.witness(p2, w + 1, encodeMainRecord({ window: w, tx: transfer(0, 0n, 1, 1n, 0n, true) }));
      return [h.witness(p1), forged];
    }),
    'void',
  );
  // A record on a block that is not on the best chain.
  assert.is(
    fateWith((h) => {
      const off = h.witness(p2);
      h.c.chains.set(p2, []);
      return [h.witness(p1), off];
    }),
    'void',
  );
  // The lock: off the origin's best chain, or short of confirmations: the conversion is no part of the ledger.
  assert.is(
    fateWith(
      (h) => [h.witness(p1), h.witness(p2)],
      (h) => h.c.chains.set(origin, h.c.chains.get(origin)!.slice(1)),
    ),
    'bad-lock',
  );
  assert.is(
    fateWith(
      (h) => [h.witness(p1), h.witness(p2)],
      (h) => h.c.chains.set(origin, h.c.chains.get(origin)!.slice(0, m.mainConfirmations - 1)),
    ),
    'bad-lock',
  );
  // A window is not decided while a sector is not settled past it.
  const h = setup();
  h.c.settled.set(1, w + m.recordWindows - 1);
  assert.is(decideWindow(spec, h.base, h.c, { networkId: nid }), undefined);
});

test('a reorg that drops a record\'s block before the decision changes nothing once the record is written again on the new branch', () => {
  const w = 5;
  const beacon = new Uint8Array(32).fill(0x31);
  const origin = 1;
  const tx = convert(2, origin, 0n, 3n * 10n ** 9n, 0n, 2, true);
  const lock: Lock = { kind: 'tx', tx };
  const txid = txId(tx);
  const order = selectSectors({ purpose: 'witness', beacon, txid, origin, sectors: spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight })), count: 2 });
  assert.ok(order.ok);
  if (!order.ok) return;
  const [p1, p2] = order.value.primary as [number, number];
  /** The lock buried on its origin, and a witness record written by each primary in block window `at`. */
  const history = (reorged: boolean, rewritten = true) => {
    const c = new FakeChains();
    const lockBody = { ...emptyBody(new Uint8Array(20).fill(1)), txs: [tx] };
    const originHeader = c.add(origin, lockBody, w);
    c.bury(origin, m.mainConfirmations);
    const lockProof = bodyInclusionProof(lockBody, 'txs', 0);
    const entry = encodeWitnessRecord({ window: w, originSector: origin, originBlock: blockId(originHeader), lock, lockProof });
    const write = (sectorId: number, at: number, nonce = 0) => {
      const body = { ...emptyBody(miner(sectorId)), witnessRecords: [entry] };
      const header = c.add(sectorId, body, at);
      if (nonce) header.nonce += BigInt(nonce) << 32n;
      return { kind: 'witness' as const, txid, sectorId, header, proof: bodyInclusionProof(body, 'witnessRecords', 0) };
    };
    const records = [write(p1, w + 1), write(p2, w + 2)];
    if (reorged) {
      // p2's block is reorged out (no longer on its best chain) and the record is written again, later, on the new branch.
      const list = c.chains.get(p2)!;
      list.splice(list.indexOf(records[1]!.header), 1);
      if (rewritten) records.push(write(p2, w + 4, 1));
    }
    return decideWindow(spec, { window: w, beacon, main: [], conversions: [{ lock, originBlock: blockId(originHeader), originHeight: originHeader.height, lockProof }], records }, c, { networkId: nid })!;
  };
  const plain = history(false);
  const reorged = history(true);
  assert.equal(reorged.conversions.map((x) => x.fate.status), ['final']);
  // The dropped block alone counts for nothing: without the new record p2 has missed (and no fallback recorded).
  assert.equal(history(true, false).conversions.map((x) => x.fate.status), ['void']);
  const fold = (d: DecidedWindow) => foldWindow(newLedger(spec), d, spec);
  assert.equal(fold(reorged).root, fold(plain).root, 'the same ledger either way');
});

test("a recycle lock is witnessed and minted like a conversion, to the named account's MAIN address; one of an unnamed account, or proven in the wrong section, is ignored", () => {
  const w = 4;
  const beacon = new Uint8Array(32).fill(0x7a);
  const origin = 3;
  const sector = spec.sectors.find((s) => s.id === origin)!;
  const named = fromHex(sector.recycle.accounts[0]!);
  const entry = { kind: 'recycle' as const, epoch: 5n, account: named, amount: 4n * 10n ** 9n };
  const lock: Lock = { kind: 'recycle', sector: origin, entry };
  const c = new FakeChains();
  const lockBody = { ...emptyBody(new Uint8Array(20).fill(2)), settlements: [encodeSettlement(entry)] };
  const originHeader = c.add(origin, lockBody, w);
  c.bury(origin, m.mainConfirmations);
  const lockProof = bodyInclusionProof(lockBody, 'settlements', 0);
  const id = lockId(lock);
  const order = selectSectors({ purpose: 'witness', beacon, txid: id, origin, sectors: spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight })), count: 2 });
  assert.ok(order.ok);
  if (!order.ok) return;
  const record = encodeWitnessRecord({ window: w, originSector: origin, originBlock: blockId(originHeader), lock, lockProof });
  assert.is(record[0], 2, 'a recycle witness record is version 2');
  assert.equal(decodeWitnessRecord(record).lock, lock);
  const records = order.value.primary.map((sectorId) => {
    const body = { ...emptyBody(miner(sectorId)), witnessRecords: [record] };
    const header = c.add(sectorId, body, w + 1);
    return { kind: 'witness' as const, txid: id, sectorId, header, proof: bodyInclusionProof(body, 'witnessRecords', 0) };
  });
  const data = (l: Lock, proof = lockProof): WindowData => ({ window: w, beacon, main: [], conversions: [{ lock: l, originBlock: blockId(originHeader), originHeight: originHeader.height, lockProof: proof }], records });
  const d = decideWindow(spec, data(lock), c, { networkId: nid });
  assert.equal(d?.conversions.map((x) => x.fate.status), ['final']);
  const l = newLedger(spec);
  const r = foldWindow(l, d!, spec);
  const share = mintFor(sector.initialReserves, entry.amount);
  assert.equal(r.applied.map((a) => [a.kind, toHex(a.to), a.amount]), [['conversion', toHex(named), share]]);
  assert.is(balanceOf(l, named).balance, share);
  assert.is(l.treasuries.get(origin)!.locked, entry.amount);
  // Not named by the sector: no part of the ledger. Proven in the txs section: no lock.
  const stranger: Lock = { kind: 'recycle', sector: origin, entry: { ...entry, account: addr(4) } };
  assert.equal(decideWindow(spec, data(stranger), c, { networkId: nid })?.ignored.map((x) => x.code), ['bad-tx']);
  assert.equal(decideWindow(spec, data(lock, { ...lockProof, section: 'txs' }), c, { networkId: nid })?.ignored.map((x) => x.code), ['bad-lock']);
  // Without its witnesses the recycled amount is refunded to the account on its sector.
  const lonely = decideWindow(spec, { ...data(lock), records: [] }, c, { networkId: nid })!;
  const refunded = foldWindow(newLedger(spec), lonely, spec);
  assert.equal(refunded.releases.map((x) => [x.reason, x.sectorId, toHex(x.to), x.amount]), [['refund', origin, toHex(named), entry.amount]]);
});

test('an unsigned or foreign MAIN tx in the window data is ignored, and its records count for nothing', () => {
  const c = new FakeChains();
  const data: WindowData = { window: 2, beacon: new Uint8Array(32), main: [transfer(0, 0n, 1, 5n, 0n)], conversions: [], records: [] };
  const d = decideWindow(spec as NetworkSpec, data, c, { networkId: nid })!;
  assert.equal(d.main, []);
  assert.equal(d.ignored.map((x) => x.code), ['bad-tx']);
});

test.run();
