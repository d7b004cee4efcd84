import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { CODEC_ERRORS, CodecError } from '../../core/errors.js';
import { decodeMessage, encodeMessage, forkPoint, locatorHeights, MAX_LOCATOR, MAX_MESSAGE_BYTES, type Message } from '../../core/wire.js';
import { toHex } from '../../core/bytes.js';

const id = (b: number) => new Uint8Array(32).fill(b);
const header = { version: 1, sectorId: 2, height: 7, prevHash: id(1), bodyRoot: id(2), timeMs: 1234, bits: 0x207fffff, workKind: 'hash' as const, nonce: 99n };

const samples: Message[] = [
  { type: 'hello', version: 1, networkId: id(3), sectorId: 2, genesisId: id(4), tipHeight: 12, tipId: id(5), listen: 'ws://127.0.0.1:7001' },
  { type: 'get-headers', locator: [id(1), id(2)], stop: id(0) },
  { type: 'headers', headers: [header, { ...header, height: 8 }] },
  { type: 'get-blocks', ids: [id(9)] },
  { type: 'block', block: new Uint8Array(300).fill(7) },
  { type: 'inv', kind: 'tx', ids: [id(1), id(2), id(3)] },
  { type: 'get-txs', ids: [] },
  { type: 'tx', tx: new Uint8Array(180) },
  { type: 'ping', nonce: 42n },
  { type: 'pong', nonce: (1n << 64n) - 1n },
  { type: 'reject', code: 'bad-diffbits', detail: 'bits 0x1f00ffff, expected 0x1f00fffe' },
];

test('every message type round-trips', () => {
  for (const m of samples) assert.equal(decodeMessage(encodeMessage(m)), m, m.type);
});

test('hostile frames fail with coded errors only', () => {
  const code = (b: Uint8Array) => {
    try {
      decodeMessage(b);
      return 'ok';
    } catch (e) {
      assert.instance(e, CodecError);
      return (e as CodecError).code;
    }
  };
  assert.is(code(Uint8Array.of(200)), 'codec-bad-enum');
  assert.is(code(new Uint8Array(MAX_MESSAGE_BYTES + 1)), 'codec-oversize');
  const ping = encodeMessage({ type: 'ping', nonce: 1n });
  assert.is(code(Uint8Array.from([...ping, 0])), 'codec-trailing-bytes');
  const reject = encodeMessage({ type: 'reject', code: 'x', detail: 'y' });
  reject[2] = 0x07; // a control character in the code
  assert.is(code(reject), 'codec-bad-value');
  assert.throws(() => encodeMessage({ type: 'reject', code: 'é', detail: '' }), RangeError);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const c = code(b);
      assert.ok(c === 'ok' || (CODEC_ERRORS as readonly string[]).includes(c));
    }),
    { numRuns: 3000 },
  );
});

test('locators: last ten, then doubling, ending at genesis', () => {
  assert.equal(locatorHeights(0), [0]);
  assert.equal(locatorHeights(5), [5, 4, 3, 2, 1, 0]);
  const l = locatorHeights(1000);
  assert.equal(l.slice(0, 10), [1000, 999, 998, 997, 996, 995, 994, 993, 992, 991]);
  assert.equal(l.slice(10, 14), [989, 985, 977, 961]);
  assert.is(l[l.length - 1], 0);
  assert.ok(locatorHeights(2 ** 50).length <= MAX_LOCATOR);
  for (let i = 1; i < l.length; i++) assert.ok(l[i]! < l[i - 1]!);
});

test('fork point: the first locator entry on our chain', () => {
  const ours = new Set([id(0), id(1), id(2)].map(toHex));
  assert.is(toHex(forkPoint([id(9), id(8), id(2), id(1)], (x) => ours.has(toHex(x)))!), toHex(id(2)));
  assert.is(forkPoint([id(9)], (x) => ours.has(toHex(x))), undefined);
});

test.run();
