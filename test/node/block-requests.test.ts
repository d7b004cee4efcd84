// The outstanding-block-request set on a hand-driven clock: its bound, expiry
// after a stall (and not while the peer keeps delivering), release of a
// departed peer's requests, and re-requesting from another peer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlockRequests } from '../../node/block-requests.js';

function setup(max = 4, timeoutMs = 1000) {
  let now = 0;
  const r = new BlockRequests<string>({ max, timeoutMs, now: () => now });
  return { r, at: (t: number) => (now = t) };
}

test('at most `max` requests are outstanding', () => {
  const { r } = setup(3);
  assert.is(r.room(), 3);
  assert.ok(r.add('a', 'p'));
  assert.ok(r.add('b', 'p'));
  assert.not.ok(r.add('a', 'q'), 'an outstanding id is not asked twice');
  assert.ok(r.add('c', 'q'));
  assert.is(r.room(), 0);
  assert.not.ok(r.add('d', 'p'), 'no room');
  assert.not.ok(r.has('d'));
  assert.ok(r.received('b', 'p'));
  assert.is(r.room(), 1);
  assert.ok(r.add('d', 'p'));
  assert.is(r.size, 3);
});

test('a request expires after the timeout and can then be asked of another peer', () => {
  const { r, at } = setup();
  r.add('a', 'p');
  at(999);
  assert.ok(r.has('a'));
  at(1000);
  assert.not.ok(r.has('a'), 'expired');
  assert.ok(r.add('a', 'q'), 'asked again elsewhere');
  assert.is(r.countFor('p'), 0);
  assert.is(r.countFor('q'), 1);
  assert.not.ok(r.received('a', 'p'), 'a late answer from the first peer is not its progress');
  assert.is(r.size, 0);
});

test('a peer that keeps delivering is not timed out; one that stops is', () => {
  const { r, at } = setup(10);
  for (const id of ['a', 'b', 'c']) r.add(id, 'p');
  r.add('x', 'q');
  at(800);
  assert.ok(r.received('a', 'p'));
  at(1500);
  assert.equal(r.expire(), [{ id: 'x', peer: 'q' }]);
  assert.ok(r.has('b') && r.has('c'), 'p delivered at 800: its requests live until 1800');
  at(1800);
  assert.equal(r.expire().map((e) => e.id).sort(), ['b', 'c']);
  assert.is(r.size, 0);
});

test('a departed peer releases all its requests and only its own', () => {
  const { r } = setup(10);
  r.add('a', 'p');
  r.add('b', 'q');
  r.add('c', 'p');
  assert.equal(r.dropPeer('p').sort(), ['a', 'c']);
  assert.not.ok(r.has('a'));
  assert.ok(r.has('b'));
  assert.is(r.room(), 9);
  assert.equal(r.dropPeer('p'), []);
});

test('options are checked', () => {
  assert.throws(() => new BlockRequests({ max: 0 }), RangeError);
  assert.throws(() => new BlockRequests({ timeoutMs: 0 }), RangeError);
});

test.run();
