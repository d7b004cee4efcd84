// The edge's send budget on Node: a node socket whose unsent bytes would pass
// the budget is closed with CLOSE_SEND_BUDGET and dropped from the pushes at
// once (its buffer freed), while the other sockets of its sector keep getting
// every frame. The socket objects are stand-ins for `ws` sockets: the kernel
// absorbs megabytes on loopback before `bufferedAmount` moves, so a real
// non-reading socket is the flood benchmark's business, not a test's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { WSContext } from 'hono/ws';
import { CLOSE_SEND_BUDGET, LocalHub } from '../../edge/node-server.js';
import type { NodeMessageBackend } from '../../edge/messages.js';

function socket(bufferedAmount: () => number) {
  const sent: string[] = [];
  const raw = { closed: 0, terminated: false, get bufferedAmount() { return bufferedAmount(); }, close(code: number) { this.closed = code; }, terminate() { this.terminated = true; } };
  const ws = { raw, send: (f: string) => sent.push(f) } as unknown as WSContext;
  return { ws, raw, sent };
}

test('a socket over its send budget is closed with the stated code and dropped; the others get every frame', () => {
  const logs: string[] = [];
  const hub = new LocalHub({} as NodeMessageBackend, (l) => logs.push(l), 10_000);
  let backlog = 0;
  const slow = socket(() => backlog);
  const fast = socket(() => 0);
  hub.add(2, slow.ws);
  hub.add(2, fast.ws);
  const push = (n: number) => hub.publish([{ sectors: [2], message: { type: 'headers', sectorId: 2, headers: Array.from({ length: n }, () => ({ id: '00'.repeat(32), sectorId: 2, height: 1, header: 'ab'.repeat(60) })) } }]);
  push(1);
  assert.is(slow.sent.length, 1, 'within the budget: sent');
  backlog = 9_000;
  push(10);
  assert.is(slow.raw.closed, CLOSE_SEND_BUDGET);
  assert.ok(slow.raw.terminated, 'its connection is dropped at once, freeing its buffer');
  assert.is(slow.sent.length, 1, 'nothing more was queued on it');
  assert.is(hub.dropped, 1);
  assert.match(logs[0]!, /unread/);
  push(1);
  assert.is(slow.sent.length, 1, 'a dropped socket gets no more pushes');
  assert.is(fast.sent.length, 3, 'the reading socket got every frame');
});

test.run();
