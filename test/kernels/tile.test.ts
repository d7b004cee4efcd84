// Tile verification on every backend: openings and noise in core, the tile's
// product in the kernel. A real winner verifies with its ticket; tampered
// openings, wrong entries and hard targets are refused with their codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8ToBytes } from '../../core/bytes.js';
import { sha256 } from '../../core/hash.js';
import { verifyTileWith } from '../../core/kernel.js';
import { commitColumns, commitRows, openTile, runLottery, tileState, type VerifyTileInput } from '../../core/lottery.js';
import type { LotteryParams } from '../../core/params.js';
import { loadAll } from './backends.js';

const { backends } = await loadAll();

function matrix(n: number, seed: number): Int8Array {
  let x = seed >>> 0 || 1;
  return Int8Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 129) - 64;
  });
}

const m = 64;
const k = 200;
const n = 48;
const config: LotteryParams = { rank: 16, tileRows: 16, tileCols: 16, macsPerHash: 1n << 10n };
const A = matrix(m * k, 5);
const B = matrix(k * n, 6);
const commitA = commitRows(A, m, k);
const commitB = commitColumns(B, k, n);
const headerNoNonce = sha256(utf8ToBytes('tile test header')).slice(0, 32);
const header104 = new Uint8Array(104);
header104.set(headerNoNonce, 0);
const target = 1n << 249n;
const run = runLottery({ A, B, m, k, n, commitA, commitB, headerNoNonce: header104, config, target });
const winner = run.winners[0]!;

function input(over: Partial<VerifyTileInput> = {}): VerifyTileInput {
  return { ...openTile({ A, B, m, k, n, config, ti: winner.ti, tj: winner.tj }), commitA, commitB, m, k, n, config, headerNoNonce: header104, target, ...over };
}

test('the fixture has winners and losers', () => {
  assert.ok(run.winners.length > 0 && run.winners.length < run.tickets.length, `${run.winners.length} winners`);
});

for (const b of backends) {
  test(`${b.name}: tileState equals the reference on random noisy lines`, async () => {
    for (const [h, w, kk, r] of [
      [4, 4, 64, 8],
      [16, 8, 130, 16],
      [3, 5, 2, 2],
    ] as const) {
      const AE = matrix(h * kk, h + kk);
      const BFT = matrix(w * kk, w + kk + 1);
      assert.equal(await b.tileState(AE, BFT, { h, w, k: kk, rank: r }), tileState(AE, BFT, h, w, kk, r));
    }
  });

  test(`${b.name}: a winning tile verifies with its ticket; forgeries are refused`, async () => {
    const ok = await verifyTileWith(b, input());
    assert.ok(ok.ok);
    if (ok.ok) assert.is(toHex(ok.value.ticket), toHex(winner.ticket));
    const tampered = input();
    tampered.rowsOfA = tampered.rowsOfA.slice();
    tampered.rowsOfA[3] = tampered.rowsOfA[3]! === 64 ? 63 : tampered.rowsOfA[3]! + 1;
    const r1 = await verifyTileWith(b, tampered);
    assert.is(r1.ok ? 'ok' : r1.code, 'lottery-bad-opening');
    const r2 = await verifyTileWith(b, input({ target: 1n }));
    assert.is(r2.ok ? 'ok' : r2.code, 'lottery-high-ticket');
    const r3 = await verifyTileWith(b, input({ ti: winner.ti + 100 }));
    assert.is(r3.ok ? 'ok' : r3.code, 'lottery-bad-dims');
  });
}

test.run();
