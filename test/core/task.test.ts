// Compute tasks and matmul blocks (core/task.ts): the task tx and its escrow
// in the MAIN fold (final, refunded at the deadline, supply kept), the work
// proof of a winning tile against the header alone, and the task rule every
// validator applies against its own ledger (pending, unknown, random
// matrices, wrong sector, too early, past the deadline).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromHex, toHex } from '../../core/bytes.js';
import { networkId } from '../../core/genesis.js';
import { encodeHeader, HEADER_VERSION, type BlockHeader } from '../../core/header.js';
import { jsBackend } from '../../core/kernel.js';
import { addressOf, keyPairFromSeed } from '../../core/keys.js';
import { commitColumns, commitRows, lotterySeedsForHeader, openTile, ticketThreshold } from '../../core/lottery.js';
import { balanceOf, decideWindow, foldWindow, ledgerFromJson, ledgerToJson, mainStateRoot, mainSupply, newLedger, type ChainView, type DecidedTx } from '../../core/main-ledger.js';
import { devnetSpec, type SectorParams } from '../../core/params.js';
import { bitsToTarget } from '../../core/target.js';
import {
  checkMatmulHeader,
  decodeWorkHeader,
  decodeWorkProof,
  encodeWorkHeader,
  encodeWorkProof,
  freshResults,
  gemmTaskPayload,
  matmulTaskVerdict,
  taskProblem,
  workProofBound,
  type TaskEscrow,
  type TaskPayload,
  type WorkProof,
} from '../../core/task.js';
import { checkHeaderWork } from '../../core/validate.js';
import { decodeTx, encodeTx, MAIN_CHAIN, signTx, txId, type Tx } from '../../core/tx.js';

const spec = devnetSpec();
const nid = networkId(spec);
const sector = spec.sectors.find((s) => s.slug === 'cpu-edge')!;
const key = keyPairFromSeed(new Uint8Array(32).fill(7));
const m = 32;
const k = 64;
const n = 32;

/** Deterministic matrices in [−64, 64]. */
function matrix(rows: number, cols: number, seed: number): Int8Array {
  const out = new Int8Array(rows * cols);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) % 129) - 64;
  }
  return out;
}
const A = matrix(m, k, 1);
const B = matrix(k, n, 2);

const taskTx = (nonce: bigint, payload: TaskPayload, fee = 10n): Tx => signTx({ version: 1, chain: MAIN_CHAIN, from: key.publicKey, nonce, fee, payload }, key.secretKey, nid);
const payload = (over: Partial<TaskPayload> = {}): TaskPayload => ({ ...gemmTaskPayload({ A, B, m, k, n, sector: sector.id, redundancy: 2, escrow: 5_000n, deadline: 40 }), ...over });
const final = (tx: Tx): DecidedTx => ({ tx, txid: txId(tx), fate: { status: 'final', counted: [] }, order: [1, 2] });
const escrowOf = (window: number, over: Partial<TaskEscrow> = {}): TaskEscrow => {
  const p = payload();
  return { id: toHex(txId(taskTx(0n, p))), submitter: addressOf(key.publicKey), sector: sector.id, work: 'gemm-i8', m, k, n, commitA: p.commitA, commitB: p.commitB, redundancy: 2, escrow: 5_000n, deadline: 40, window, status: 'open', ...freshResults(), ...over };
};

/** A header of `sector` at the given bits, nonce 0, work kind matmul. */
const header = (bits: number, timeMs = spec.genesisTimeMs + 100_000, s: SectorParams = sector): BlockHeader => ({
  version: HEADER_VERSION,
  sectorId: s.id,
  height: 5,
  prevHash: new Uint8Array(32).fill(3),
  bodyRoot: new Uint8Array(32).fill(4),
  timeMs,
  bits,
  workKind: 'matmul',
  nonce: 0n,
});

/** Mines a tile of A·B for task `id` under `h` (the easiest bits win at once); the proof of the first winner. */
async function mine(h: BlockHeader, id: Uint8Array, a = A, b = B): Promise<WorkProof | undefined> {
  const target = bitsToTarget(h.bits);
  if (!target.ok) throw new Error('bits');
  const commitA = commitRows(a, m, k);
  const commitB = commitColumns(b, k, n);
  const seeds = lotterySeedsForHeader(h, { config: sector.lottery, commitA, commitB, m, n });
  const run = await jsBackend().lottery({ A: a, B: b, m, k, n, config: sector.lottery, seedA: seeds.seedA, seedB: seeds.seedB, threshold: ticketThreshold(target.value, sector.lottery, k), recover: true });
  // The product the lottery recovers is A·B exactly.
  const exact = await jsBackend().gemmI8(a, b, { m, k, n });
  assert.equal([...run.product!], [...exact], 'the lottery recovers A·B exactly');
  if (run.winners.length === 0) return undefined;
  const w = run.winners[0]!;
  const tiles = n / sector.lottery.tileCols;
  return { task: id, m, k, n, commitA, commitB, ...openTile({ A: a, B: b, m, k, n, config: sector.lottery, ti: Math.floor(w / tiles), tj: w % tiles }) };
}

test('a task tx round-trips, is MAIN-only, and the shape rules of its sector are checked', () => {
  const tx = taskTx(0n, payload());
  assert.equal(decodeTx(encodeTx(tx)), tx);
  assert.is(taskProblem(payload(), spec), null);
  assert.match(taskProblem(payload({ sector: 99 }), spec)!, /unknown sector/);
  assert.match(taskProblem(payload({ redundancy: 0 }), spec)!, /redundancy/);
  assert.match(taskProblem(payload({ k: 70_000 }), spec)!, /above 65536/);
  assert.match(taskProblem(payload({ m: 33 }), spec)!, /multiple of tileRows/);
  assert.match(taskProblem(payload({ k: 16 }), spec)!, /below the rank/);
  // A tile opening that a header relay could not carry is refused up front.
  assert.match(taskProblem(payload({ m: 16, k: 16_384, n: 16 }), spec)!, /relay limit/);
  assert.ok(workProofBound(m, k, n, sector) >= encodeWorkProof({ task: new Uint8Array(32), m, k, n, commitA: new Uint8Array(32), commitB: new Uint8Array(32), ...openTile({ A, B, m, k, n, config: sector.lottery, ti: 1, tj: 1 }) }).length);
});

test('the fold holds a final task escrow, refunds it after the deadline, and keeps supply = minted − burnt', () => {
  const l = newLedger(spec);
  const payer = toHex(addressOf(key.publicKey));
  l.accounts.set(payer, { balance: 100_000n, nonce: 0n });
  l.minted = 100_000n;
  const tx = taskTx(0n, payload());
  const rootBefore = mainStateRoot(l);
  const r = foldWindow(l, { window: 10, main: [final(tx)], conversions: [], ignored: [] }, spec);
  const id = toHex(txId(tx));
  assert.equal(r.tasks, [{ id, event: 'final', escrow: 5_000n }]);
  assert.is(balanceOf(l, payer).balance, 100_000n - 5_000n - 10n);
  assert.is(l.tasks.get(id)!.status, 'open');
  assert.is(l.tasks.get(id)!.window, 10);
  assert.is(mainSupply(l), l.minted - l.burnt, 'the escrow is MAIN still in existence');
  assert.not.equal(toHex(r.root), toHex(rootBefore));
  // Persistence keeps the task.
  const back = ledgerFromJson(JSON.parse(JSON.stringify(ledgerToJson(l))), spec);
  assert.equal(toHex(mainStateRoot(back)), toHex(mainStateRoot(l)));
  // Not enough funds: void, nothing held.
  const poor = taskTx(1n, payload({ amount: 10_000_000n }));
  const r2 = foldWindow(l, { window: 11, main: [final(poor)], conversions: [], ignored: [] }, spec);
  assert.equal(r2.void.map((v) => v.code), ['tx-insufficient-funds']);
  assert.not.ok(l.tasks.has(toHex(txId(poor))));
  // Past the deadline (40), the escrow goes back to the submitter.
  const r3 = foldWindow(l, { window: 41, main: [], conversions: [], ignored: [] }, spec);
  assert.equal(r3.tasks, [{ id, event: 'expired', escrow: 5_000n }]);
  assert.is(balanceOf(l, payer).balance, 100_000n - 10n);
  assert.is(l.tasks.get(id)!.status, 'expired');
  assert.is(mainSupply(l), l.minted - l.burnt);
});

test('decideWindow ignores a task this network cannot run (bad-task)', () => {
  const chains: ChainView = { bestBlock: () => undefined, settledThrough: () => 1_000 };
  const good = taskTx(0n, payload());
  const bad = taskTx(1n, payload({ m: 33 }));
  const d = decideWindow(spec, { window: 3, beacon: new Uint8Array(32).fill(1), main: [good, bad], conversions: [], records: [] }, chains, { networkId: nid })!;
  assert.equal(d.ignored, [{ txid: toHex(txId(bad)), code: 'bad-task' }]);
  assert.equal(d.main.map((t) => toHex(t.txid)), [toHex(txId(good))]);
});

test('a winning tile is the proof of work of a matmul header: relays check it from the header and the proof alone', async () => {
  const h = header(sector.powLimitBits);
  const id = txId(taskTx(0n, payload()));
  const proof = (await mine(h, id))!;
  assert.ok(proof, 'at the easiest bits a tile wins');
  const bytes = encodeWorkProof(proof);
  assert.equal(decodeWorkProof(bytes), proof);
  assert.ok(checkMatmulHeader(h, bytes, sector).ok);
  assert.ok(checkHeaderWork(h, sector, bytes).ok);
  // The relay form: the header, then its proof.
  const relayed = decodeWorkHeader(encodeWorkHeader(h, bytes));
  assert.equal(encodeHeader(relayed.header), encodeHeader(h));
  assert.equal(relayed.workProof, bytes);
  const code = (hh: BlockHeader, p: Uint8Array) => {
    const r = checkHeaderWork(hh, sector, p);
    return r.ok ? 'ok' : r.code;
  };
  // Without a proof, with a nonce, with garbage, with a flipped opened entry, with another header.
  assert.is(code(h, new Uint8Array(0)), 'bad-work-proof');
  assert.is(code({ ...h, nonce: 1n }, bytes), 'bad-work-proof');
  assert.is(code(h, bytes.subarray(0, 100)), 'bad-work-proof');
  const tampered = { ...proof, rowsOfA: proof.rowsOfA.slice() };
  tampered.rowsOfA[3] = tampered.rowsOfA[3]! === 0 ? 1 : 0;
  assert.is(code(h, encodeWorkProof(tampered)), 'lottery-bad-opening');
  // A hash header carries no work proof.
  assert.is(code({ ...h, workKind: 'hash' }, bytes), 'bad-work-proof');
  // A harder target than the tile's ticket meets.
  const hard = header(0x1d00ffff);
  assert.is(code(hard, bytes), 'lottery-high-ticket');
});

test('the task rule: only a final task of this sector, before its deadline, with exactly its matrices; pending while the ledger cannot tell', async () => {
  const h = header(sector.powLimitBits);
  const id = txId(taskTx(0n, payload()));
  const proof = (await mine(h, id))!;
  const W = 20;
  const verdict = (look: { foldedWindow: number; task: TaskEscrow | undefined }, p = proof, s = sector.id) => {
    const r = matmulTaskVerdict(s, W, p, look);
    return r.ok ? r.value : r.code;
  };
  assert.is(verdict({ foldedWindow: 18, task: escrowOf(10) }), 'ok');
  // Unknown: pending while the ledger has not folded window W − 1, refused after.
  assert.is(verdict({ foldedWindow: 17, task: undefined }), 'pending');
  assert.is(verdict({ foldedWindow: 19, task: undefined }), 'matmul-without-task');
  // Final in the block's own window is too late for it.
  assert.is(verdict({ foldedWindow: 19, task: escrowOf(20) }), 'matmul-without-task');
  assert.is(verdict({ foldedWindow: 18, task: escrowOf(10) }, proof, 2), 'matmul-without-task', "another sector's task");
  assert.is(verdict({ foldedWindow: 18, task: escrowOf(10, { deadline: 19 }) }), 'matmul-without-task', 'past its deadline');
  assert.is(verdict({ foldedWindow: 18, task: escrowOf(10, { work: 'data' }) }), 'matmul-without-task');
  // Random matrices under a real task's id: the tile is real work, but not the task's.
  const random = (await mine(h, id, matrix(m, k, 9), matrix(k, n, 10)))!;
  assert.ok(checkMatmulHeader(h, encodeWorkProof(random), sector).ok, 'the work itself verifies');
  assert.is(verdict({ foldedWindow: 18, task: escrowOf(10) }, random), 'matmul-without-task');
  assert.is(fromHex(escrowOf(10).id).length, 32);
});

test.run();
