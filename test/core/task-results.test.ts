/**
 * A task's results in the MAIN fold: executors commit (sealed), then reveal;
 * agreeing results are accepted and paid at the batch price in sector
 * tokens, outliers get nothing, a round that does not agree is reassigned.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../core/bytes.js';
import { networkId } from '../../core/genesis.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { commitColumns, commitRows } from '../../core/lottery.js';
import { foldWindow, ledgerFromJson, ledgerToJson, mainStateRoot, mainSupply, newLedger, type DecidedTx, type MainLedger } from '../../core/main-ledger.js';
import { devnetSpec } from '../../core/params.js';
import { resultCommit, tallyResults, type ResultCommit } from '../../core/task.js';
import { decodeTx, encodeTx, MAIN_CHAIN, signTx, txId, type Tx, type TxPayload } from '../../core/tx.js';

const spec = devnetSpec();
const nid = networkId(spec);
const sector = spec.sectors.find((s) => s.slug === 'cpu-edge')!;
const submitter = keyPairFromSeed(new Uint8Array(32).fill(9));
const executors = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(40 + i)));
const payTo = (i: number) => new Uint8Array(20).fill(0x60 + i);
const salt = (i: number) => new Uint8Array(32).fill(0x70 + i);
const R = new Uint8Array(32).fill(0xaa);
const WRONG = new Uint8Array(32).fill(0xbb);

const signed = (key: { publicKey: Uint8Array; secretKey: Uint8Array }, nonce: bigint, payload: TxPayload, fee = 0n): Tx =>
  signTx({ version: 1, chain: MAIN_CHAIN, from: key.publicKey, nonce, fee, payload }, key.secretKey, nid);
const final = (tx: Tx): DecidedTx => ({ tx, txid: txId(tx), fate: { status: 'final', counted: [] }, order: [1, 2] });
const fold = (l: MainLedger, window: number, txs: Tx[]) => foldWindow(l, { window, main: txs.map(final), conversions: [], ignored: [] }, spec);

/** A ledger holding one final task of `redundancy`, escrow 9 000, deadline 40, made final in window 10. */
function withTask(redundancy: number): { l: MainLedger; id: Uint8Array } {
  const l = newLedger(spec);
  l.accounts.set(toHex(addressOf(submitter.publicKey)), { balance: 100_000n, nonce: 0n });
  l.minted = 100_000n;
  const A = new Int8Array(32 * 64).fill(1);
  const B = new Int8Array(64 * 32).fill(2);
  const task = signed(
    submitter,
    0n,
    { kind: 'task', sector: sector.id, work: 'gemm-i8', m: 32, k: 64, n: 32, commitA: commitRows(A, 32, 64), commitB: commitColumns(B, 64, 32), redundancy, amount: 9_000n, deadline: 40n },
    10n,
  );
  fold(l, 10, [task]);
  return { l, id: txId(task) };
}

const commitTx = (i: number, id: Uint8Array, result: Uint8Array, nonce = 0n) =>
  signed(executors[i]!, nonce, { kind: 'commit', task: id, commit: resultCommit(id, addressOf(executors[i]!.publicKey), salt(i), result), payTo: payTo(i) });
const revealTx = (i: number, id: Uint8Array, result: Uint8Array, nonce = 1n, s = salt(i)) => signed(executors[i]!, nonce, { kind: 'reveal', task: id, salt: s, result });

test('commit and reveal txs round-trip, move no amount, and are MAIN-only', () => {
  const id = new Uint8Array(32).fill(5);
  for (const tx of [commitTx(0, id, R), revealTx(0, id, R)]) assert.equal(decodeTx(encodeTx(tx)), tx);
});

test('three executors commit then reveal: the two that agree are paid at the batch price, the outlier gets nothing', () => {
  const { l, id } = withTask(3);
  const hex = toHex(id);
  // Sector tokens locked in the sector's treasury, so the escrow can be sold for them.
  l.treasuries.get(sector.id)!.locked = 10n ** 15n;
  // Window 11: three commits; a reveal in the window of its own commit comes too early.
  const r11 = fold(l, 11, [commitTx(0, id, R), commitTx(1, id, R), commitTx(2, id, WRONG), revealTx(0, id, R)]);
  assert.equal(r11.void.map((v) => v.code), ['task-reveal-early']);
  assert.is(l.tasks.get(hex)!.commits.length, 3);
  // Window 12: a fourth commit finds the round full; a reveal with the wrong salt does not open its commit.
  const r12 = fold(l, 12, [commitTx(3, id, R), revealTx(1, id, R, 1n, salt(9))]);
  assert.equal(r12.void.map((v) => v.code).sort(), ['task-bad-reveal', 'task-full']);
  assert.is(l.tasks.get(hex)!.status, 'open');
  // Window 13: two reveals agree, one does not: not all in yet for e1 (its salt was wrong), so the tally waits...
  const r13 = fold(l, 13, [revealTx(0, id, R), revealTx(2, id, WRONG)]);
  assert.equal(r13.void, []);
  assert.equal(r13.tasks, []);
  // ...until the third reveal: 2 of 3 agree (more than half of the redundancy, confidence 6666 bps).
  const burntBefore = l.burnt;
  const r14 = fold(l, 14, [revealTx(1, id, R)]);
  assert.equal(r14.tasks, [{ id: hex, event: 'accepted', escrow: 9_000n, result: toHex(R), confidence: 6666, paid: [toHex(payTo(0)), toHex(payTo(1))] }]);
  const t = l.tasks.get(hex)!;
  assert.equal([t.status, toHex(t.result!), t.confidence], ['accepted', toHex(R), 6666]);
  // Paid in sector tokens: one release each to the agreeing executors, equal, reason task; none to the outlier.
  const paid = r14.releases.filter((x) => x.reason === 'task');
  assert.equal(paid.map((x) => toHex(x.to)), [toHex(payTo(0)), toHex(payTo(1))]);
  assert.ok(paid[0]!.amount > 0n && paid[0]!.amount === paid[1]!.amount);
  assert.equal([r14.batches[0]!.sectorId, r14.batches[0]!.feeMain], [sector.id, 9_000n]);
  // The escrow left circulation for the sector tokens: supply = minted − burnt still.
  assert.is(l.burnt - burntBefore, 9_000n);
  assert.is(mainSupply(l), l.minted - l.burnt);
  // Closed: no more commits or reveals.
  const r15 = fold(l, 15, [commitTx(3, id, R)]);
  assert.equal(r15.void.map((v) => v.code), ['task-closed']);
});

test('without sector tokens to sell, the agreeing executors are paid in MAIN', () => {
  const { l, id } = withTask(1);
  fold(l, 11, [commitTx(0, id, R)]);
  const r = fold(l, 12, [revealTx(0, id, R)]);
  assert.equal(r.tasks.map((t) => [t.event, t.confidence]), [['accepted', 10_000]]);
  assert.equal(r.releases, []);
  assert.is(l.accounts.get(toHex(payTo(0)))!.balance, 9_000n);
  assert.is(mainSupply(l), l.minted - l.burnt);
});

test('a round whose results do not agree is reassigned: its executors cannot commit again; the next round is paid', () => {
  const { l, id } = withTask(2);
  const hex = toHex(id);
  fold(l, 11, [commitTx(0, id, R), commitTx(1, id, WRONG)]);
  const mid = ledgerFromJson(JSON.parse(JSON.stringify(ledgerToJson(l))), spec);
  assert.equal(toHex(mainStateRoot(mid)), toHex(mainStateRoot(l)), 'commits persist');
  const r12 = fold(l, 12, [revealTx(0, id, R), revealTx(1, id, WRONG)]);
  assert.equal(r12.tasks, [{ id: hex, event: 'reassigned', escrow: 9_000n }]);
  const t = l.tasks.get(hex)!;
  assert.equal([t.status, t.round, t.commits.length, t.tried.length], ['open', 1, 0, 2]);
  // Round 1: the earlier executors are refused; a new one commits, and once it reveals, a commit comes too late.
  const r13 = fold(l, 13, [commitTx(0, id, R, 1n + 1n), commitTx(2, id, R), commitTx(3, id, R)]);
  assert.equal(r13.void.map((v) => v.code), ['task-tried']);
  const r14 = fold(l, 14, [revealTx(2, id, R)]);
  assert.equal(r14.tasks, [], 'one reveal of two: waiting');
  const late = signed(executors[1]!, 2n, { kind: 'commit', task: id, commit: new Uint8Array(32), payTo: payTo(1) });
  assert.equal(fold(l, 15, [late]).void.map((v) => v.code), ['task-tried']);
  const r16 = fold(l, 16, [revealTx(3, id, R)]);
  assert.equal(r16.tasks.map((x) => [x.event, [...x.paid!].sort()]), [['accepted', [toHex(payTo(2)), toHex(payTo(3))]]]);
});

test('a commit after the round’s first reveal is refused, and one folded in that same window cannot be revealed', () => {
  const { l, id } = withTask(3);
  fold(l, 11, [commitTx(0, id, R)]);
  // e1's reveal and e2's commit in one window: e2's commit (nonce 0) folds before the reveal (nonce 1) yet counts as late.
  const r12 = fold(l, 12, [revealTx(0, id, R), commitTx(1, id, R)]);
  assert.equal(r12.void, []);
  assert.equal(fold(l, 13, [revealTx(1, id, R)]).void.map((v) => v.code), ['task-late-commit']);
  assert.equal(fold(l, 14, [commitTx(2, id, R)]).void.map((v) => v.code), ['task-late-commit']);
  // At the deadline the tally is final: 1 agreeing of 3 is not more than half: reassigned, then refunded after it.
  const r40 = fold(l, 40, []);
  assert.equal(r40.tasks.map((x) => x.event), ['reassigned']);
  const r41 = fold(l, 41, []);
  assert.equal(r41.tasks.map((x) => x.event), ['expired']);
  // A commit for a task nobody paid for.
  assert.equal(fold(l, 42, [commitTx(3, new Uint8Array(32).fill(1), R)]).void.map((v) => v.code), ['task-unknown']);
});

test('tallyResults: the largest group of equal results, more than half of the redundancy and two thirds of the reveals', () => {
  const c = (result: Uint8Array | null): ResultCommit => ({ executor: '00', commit: new Uint8Array(32), payTo: new Uint8Array(20), window: 1, result });
  assert.is(tallyResults({ redundancy: 3, commits: [c(R), c(R)] }, false).verdict, 'wait');
  assert.is(tallyResults({ redundancy: 3, commits: [c(R), c(R)] }, true).verdict, 'accept');
  assert.is(tallyResults({ redundancy: 3, commits: [c(R), c(WRONG), c(null)] }, true).verdict, 'reassign');
  assert.is(tallyResults({ redundancy: 4, commits: [c(R), c(R), c(WRONG), c(WRONG)] }, true).verdict, 'reassign');
  const v = tallyResults({ redundancy: 5, commits: [c(R), c(R), c(R), c(R), c(WRONG)] }, false);
  assert.ok(v.verdict === 'accept' && v.confidence === 8000 && v.agreeing.length === 4);
});

test.run();
