import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../core/bytes.js';
import { beaconAnchor, beaconHash, initialBeacon, type BeaconBlock } from '../../core/beacon.js';
import { medianTimePast, windowEnd, windowOf, windowStart } from '../../core/time.js';

const vec = JSON.parse(readFileSync(new URL('../vectors/beacon.json', import.meta.url), 'utf8'));

test('beacon vectors chain from the network id', () => {
  let prev = initialBeacon(fromHex(vec.networkId));
  assert.is(toHex(prev), vec.initial);
  for (const w of vec.windows) {
    const anchors = w.anchors.map((a: any) => ({ sectorId: a.sectorId, id: fromHex(a.id) }));
    prev = beaconHash(w.window, prev, anchors);
    assert.is(toHex(prev), w.beacon);
    // Anchor order in the input does not matter: sectors are hashed in id order.
    assert.is(toHex(beaconHash(w.window, fromHex(w.window === 0 ? vec.initial : vec.windows[w.window - 1].beacon), [...anchors].reverse())), w.beacon);
  }
});

test('beaconHash rejects duplicate sectors and bad windows', () => {
  const id = new Uint8Array(32);
  assert.throws(() => beaconHash(0, id, [{ sectorId: 1, id }, { sectorId: 1, id }]), RangeError);
  assert.throws(() => beaconHash(-1, id, []), RangeError);
});

function chainOf(times: number[]): BeaconBlock[] {
  return times.map((_, h) => ({ height: h, id: new Uint8Array(32).fill(h), mtpMs: medianTimePast(times.slice(0, h + 1), 11) }));
}

test('anchor: last block with mtp ≤ cutoff, then beaconDepth back; settled only once a later mtp passes', () => {
  // One block per second from t=1000.
  const chain = chainOf(Array.from({ length: 30 }, (_, i) => 1000 + i * 1000));
  // mtp of block h is the time of block max(0, h−5).
  const cutoff = 10_500; // blocks whose mtp ≤ 10,500: mtp = 1000+(h−5)·1000 ≤ 10500 → h ≤ 14
  const a = beaconAnchor(7, chain, cutoff, 2);
  assert.is(a.height, 12);
  assert.is(toHex(a.id), toHex(chain[12]!.id));
  assert.ok(a.settled);
  // Seen before the chain passed the cutoff: same rule, not settled yet.
  const early = beaconAnchor(7, chain.slice(0, 14), cutoff, 2);
  assert.not.ok(early.settled);
  // Depth never goes below genesis, and a cutoff before every block yields genesis.
  assert.is(beaconAnchor(7, chain, 1000, 5).height, 0);
  assert.is(beaconAnchor(7, chain, 0, 0).height, 0);
});

test('median-time-past and windows', () => {
  assert.is(medianTimePast([5], 11), 5);
  assert.is(medianTimePast([1, 9, 3], 11), 3);
  assert.is(medianTimePast([1, 2, 3, 4], 11), 2);
  assert.is(medianTimePast([100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 11), 6);
  assert.is(windowOf(999, 1000, 5000), -1);
  assert.is(windowOf(1000, 1000, 5000), 0);
  assert.is(windowOf(5999, 1000, 5000), 0);
  assert.is(windowOf(6000, 1000, 5000), 1);
  assert.is(windowStart(1, 1000, 5000), 6000);
  assert.is(windowEnd(0, 1000, 5000), 5999);
});

test.run();
