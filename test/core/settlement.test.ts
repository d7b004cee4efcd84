// Settlements: the entry's bytes, hostile encodings, the shape rules, the
// match against a fold's releases (right, pending, wrong, not owed), and the
// state transition (credited once out of the treasury, the treasury's nonce
// counting them, a disconnect returning them to pending, a second branch
// applying them once).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecCodeOf } from './codec-code.js';
import fc from 'fast-check';
import { bodyRoot, emptyBody, type Block } from '../../core/block.js';
import { fromHex, toHex } from '../../core/bytes.js';
import { networkId } from '../../core/genesis.js';
import { blockSubsidy, devnetSpec } from '../../core/params.js';
import type { Release } from '../../core/main-ledger.js';
import {
  checkSettlements,
  decodeSettlement,
  encodeSettlement,
  matchSettlements,
  settlementOf,
  type ReleaseLookup,
} from '../../core/settlement.js';
import { applyBlock, applyDeltaToMap, mapStateView, treasuryAddress } from '../../core/state-transition.js';
import type { AccountState } from '../../core/state.js';
import { checkBlockBody } from '../../core/validate.js';

const spec = devnetSpec();
const sector = spec.sectors[0]!;
const nid = networkId(spec);
const ctx = { sector, networkId: nid };
const treasury = treasuryAddress(sector.id);
const who = (i: number) => new Uint8Array(20).fill(0x30 + i);

const release = (seq: number, window: number, to: number, amount: bigint): Release => ({
  id: toHex(new Uint8Array(32).fill(seq + 1)),
  seq: BigInt(seq),
  window,
  sectorId: sector.id,
  to: who(to),
  amount,
  reason: 'fee',
  txid: toHex(new Uint8Array(32).fill(0xee)),
});
const owed = [release(0, 3, 1, 500n), release(1, 3, 2, 700n), release(2, 5, 1, 40n)];
const entry = (r: Release) => encodeSettlement(settlementOf(r));
const lookup = (completeThrough: number, releases = owed): ReleaseLookup => ({ completeThrough, release: (seq) => releases[Number(seq)] });

test('a settlement is kind ‖ seq ‖ window ‖ release id ‖ recipient ‖ amount, 77 bytes, little-endian', () => {
  const bytes = entry(owed[1]!);
  assert.is(bytes.length, 77);
  assert.is(toHex(bytes.slice(0, 17)), '00' + '0100000000000000' + '0300000000000000');
  assert.equal(bytes.slice(17, 49), fromHex(owed[1]!.id));
  assert.equal(bytes.slice(49, 69), who(2));
  assert.is(toHex(bytes.slice(69)), 'bc02000000000000');
  assert.equal(decodeSettlement(bytes), settlementOf(owed[1]!));
});

test('hostile settlement bytes decode to a value or a coded error, never anything else', () => {
  const good = entry(owed[0]!);
  assert.is(codecCodeOf(() => decodeSettlement(good.slice(0, 76))), 'codec-truncated');
  assert.is(codecCodeOf(() => decodeSettlement(Uint8Array.of(...good, 0))), 'codec-trailing-bytes');
  assert.is(codecCodeOf(() => decodeSettlement(Uint8Array.of(9, ...good.slice(1)))), 'codec-bad-enum');
  const far = Uint8Array.from(good);
  far.set([0, 0, 0, 0, 0, 0, 0x20, 0], 9);
  assert.is(codecCodeOf(() => decodeSettlement(far)), 'codec-out-of-range');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
      const c = codecCodeOf(() => decodeSettlement(bytes));
      assert.ok(c === 'decoded' || c.startsWith('codec-'), c);
    }),
    { numRuns: 500 },
  );
});

test('shape: entries decode, credit something, and run on by seq in windows that never go back', () => {
  assert.ok(checkSettlements(owed.map(entry)).ok);
  assert.ok(checkSettlements([]).ok);
  const bad = (entries: Uint8Array[], why: RegExp) => {
    const r = checkSettlements(entries);
    assert.is(r.ok, false);
    if (!r.ok) {
      assert.is(r.code, 'bad-settlement');
      assert.match(r.detail, why);
    }
  };
  bad([entry(owed[0]!), entry(owed[0]!)], /does not follow/);
  bad([entry(owed[0]!), entry(owed[2]!)], /does not follow/);
  bad([entry(release(0, 3, 1, 0n))], /nothing/);
  bad([entry(release(0, 6, 1, 1n)), entry(release(1, 5, 1, 1n))], /before/);
  bad([Uint8Array.of(0, 1, 2)], /codec-truncated/);
});

test('a block whose settlements break the shape rules is refused before any state is read', () => {
  const body = { ...emptyBody(who(9)), settlements: [entry(owed[1]!), entry(owed[0]!)] };
  const block: Block = {
    header: { version: 1, sectorId: sector.id, height: 5, prevHash: new Uint8Array(32), bodyRoot: bodyRoot(body), timeMs: spec.genesisTimeMs + 1, bits: sector.genesisBits, workKind: 'hash', nonce: 0n },
    body,
    workProof: new Uint8Array(0),
  };
  const r = checkBlockBody(block, spec, sector);
  assert.is(r.ok ? 'ok' : r.code, 'bad-settlement');
  assert.ok(checkBlockBody({ ...block, body: { ...body, settlements: [entry(owed[0]!)] }, header: { ...block.header, bodyRoot: bodyRoot({ ...body, settlements: [entry(owed[0]!)] }) } }, spec, sector).ok);
});

test('against the fold: exactly its releases pass; a window it has not folded is pending; a wrong or unowed entry is bad-settlement', () => {
  const decoded = (rs: Release[]) => rs.map((r) => decodeSettlement(entry(r)));
  assert.equal(matchSettlements(decoded(owed), lookup(5)), { ok: true, value: 'ok' });
  // The fold is complete through window 3 only: release 2 (window 5) is not known yet.
  assert.equal(matchSettlements(decoded(owed), lookup(3, owed.slice(0, 2))), { ok: true, value: 'pending' });
  const wrong = (rs: Release[], l: ReleaseLookup, why: RegExp) => {
    const r = matchSettlements(decoded(rs), l);
    assert.is(r.ok, false, why.source);
    if (!r.ok) {
      assert.is(r.code, 'bad-settlement');
      assert.match(r.detail, why);
    }
  };
  wrong([{ ...owed[0]!, amount: 501n }], lookup(5), /release 0 is/);
  wrong([{ ...owed[0]!, to: who(7) }], lookup(5), /release 0 is/);
  wrong([{ ...owed[0]!, id: toHex(new Uint8Array(32).fill(0x77)) }], lookup(5), /release 0 is/);
  wrong([{ ...owed[0]!, window: 4 }], lookup(5), /release 0 is/);
  // Not owed: the fold is complete through window 5 and has no release 3.
  wrong([release(3, 5, 1, 1n)], lookup(5), /no release 3 is owed/);
  // ...but a release 3 of window 6 may still come: pending.
  assert.equal(matchSettlements(decoded([release(3, 6, 1, 1n)]), lookup(5)), { ok: true, value: 'pending' });
});

/** A block at `height` carrying `settlements`, applied on `state`. */
function apply(state: Map<string, AccountState>, height: number, settlements: Uint8Array[]) {
  const body = { ...emptyBody(who(9)), settlements };
  const block: Block = {
    header: { version: 1, sectorId: sector.id, height, prevHash: new Uint8Array(32), bodyRoot: bodyRoot(body), timeMs: 0, bits: 0, workKind: 'hash', nonce: 0n },
    body,
    workProof: new Uint8Array(0),
  };
  return applyBlock(mapStateView(state), block, ctx);
}

test('the state transition credits each release once out of the treasury; its nonce counts them; a disconnect returns them to pending', () => {
  const state = new Map<string, AccountState>([[toHex(treasury), { balance: 2_000n, nonce: 0n }]]);
  const d1 = apply(state, 1, owed.slice(0, 2).map(entry));
  assert.ok(d1.ok);
  if (!d1.ok) return;
  applyDeltaToMap(state, d1.value, 'connect');
  assert.equal(state.get(toHex(treasury)), { balance: 800n, nonce: 2n });
  assert.is(state.get(toHex(who(1)))!.balance, 500n);
  assert.is(state.get(toHex(who(2)))!.balance, 700n);
  assert.is(state.get(toHex(who(9)))!.balance, blockSubsidy(sector, 1));
  // Applied once: the same release again, or one that skips, is bad-settlement.
  const again = apply(state, 2, [entry(owed[1]!)]);
  assert.is(again.ok ? 'ok' : `${again.code} ${again.detail}`, 'bad-settlement settlement 0: release 1 applied already; the next to apply is 2');
  const skip = apply(state, 2, [entry(release(3, 6, 1, 1n))]);
  assert.is(skip.ok ? 'ok' : skip.detail, 'settlement 0: release 3 skips releases; the next to apply is 2');
  // The treasury pays only what it holds.
  const short = apply(state, 2, [entry(release(2, 5, 1, 801n))]);
  assert.is(short.ok ? 'ok' : short.detail, 'settlement 0: the treasury holds 800 < 801');
  // A reorg disconnects the block: both releases are pending again, and another branch applies them once.
  applyDeltaToMap(state, d1.value, 'disconnect');
  assert.equal(state.get(toHex(treasury)), { balance: 2_000n, nonce: 0n });
  assert.is(state.has(toHex(who(1))), false);
  const other = apply(state, 1, [entry(owed[0]!)]);
  assert.ok(other.ok);
  if (!other.ok) return;
  applyDeltaToMap(state, other.value, 'connect');
  const next = apply(state, 2, [entry(owed[1]!), entry(owed[2]!)]);
  assert.ok(next.ok);
  if (!next.ok) return;
  applyDeltaToMap(state, next.value, 'connect');
  assert.equal(state.get(toHex(treasury)), { balance: 2_000n - 1_240n, nonce: 3n });
  assert.is(state.get(toHex(who(1)))!.balance, 540n);
});

test('a release to the treasury itself or to the block\'s miner is credited like any other', () => {
  const state = new Map<string, AccountState>([[toHex(treasury), { balance: 100n, nonce: 0n }]]);
  const self = { ...release(0, 1, 0, 60n), to: treasury };
  const d = apply(state, 1, [entry(self), entry({ ...release(1, 1, 0, 40n), to: who(9) })]);
  assert.ok(d.ok);
  if (!d.ok) return;
  applyDeltaToMap(state, d.value, 'connect');
  assert.equal(state.get(toHex(treasury)), { balance: 60n, nonce: 2n });
  assert.is(state.get(toHex(who(9)))!.balance, 40n + blockSubsidy(sector, 1));
});

test.run();
