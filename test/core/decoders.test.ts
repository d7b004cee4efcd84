// Property tests over every decoder: random bytes never throw anything but a
// CodecError with a documented code, and every valid value round-trips.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { CODEC_ERRORS, CodecError } from '../../core/errors.js';
import { decodeHeader, encodeHeader, type BlockHeader } from '../../core/header.js';
import { decodeTx, encodeTx, type Tx } from '../../core/tx.js';
import { decodeBlock, decodeBody, encodeBlock, encodeBody, type Block } from '../../core/block.js';
import { decodeExact } from '../../core/codec.js';
import { DEFAULT_LIMITS } from '../../core/params.js';

const limits = { ...DEFAULT_LIMITS, maxBlockTxs: 8, maxSectionEntries: 4, maxSectionEntryBytes: 64, maxWorkProofBytes: 64 };

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['header', decodeHeader],
  ['tx', decodeTx],
  ['body', (b) => decodeBody(b, limits)],
  ['block', (b) => decodeBlock(b, limits)],
  ['varint', (b) => decodeExact(b, (r) => r.varint())],
  ['bytes', (b) => decodeExact(b, (r) => r.bytes(16))],
  ['list', (b) => decodeExact(b, (r) => r.list(4, (r2) => r2.u16()))],
];

test('random bytes: decoders throw only coded CodecErrors', () => {
  for (const [name, decode] of decoders) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          decode(bytes);
        } catch (e) {
          if (!(e instanceof CodecError)) throw new Error(`${name}: threw ${String(e)}`);
          assert.ok((CODEC_ERRORS as readonly string[]).includes(e.code), `${name}: code ${e.code}`);
        }
      }),
      { numRuns: 1500 },
    );
  }
});

const plain = { noNullPrototype: true } as const;
const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const b20 = fc.uint8Array({ minLength: 20, maxLength: 20 });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const headerArb: fc.Arbitrary<BlockHeader> = fc.record({
  version: u32,
  sectorId: u32,
  height: safe,
  prevHash: b32,
  bodyRoot: b32,
  timeMs: safe,
  bits: u32,
  workKind: fc.constantFrom('hash' as const, 'matmul' as const),
  nonce: u64,
}, plain);

const txArb: fc.Arbitrary<Tx> = fc.record({
  version: fc.constant(1),
  chain: u32,
  from: b32,
  nonce: u64,
  fee: u64,
  payload: fc.oneof(
    fc.record({ kind: fc.constant('transfer' as const), to: b20, amount: u64 }, plain),
    fc.record({ kind: fc.constant('convert' as const), amount: u64, minMain: u64, mainTo: b20 }, plain),
  ),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
}, plain);

const entries = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 });
const blockArb: fc.Arbitrary<Block> = fc.record({
  header: headerArb,
  body: fc.record({
    miner: b20,
    txs: fc.array(txArb, { maxLength: 8 }),
    mainRecords: entries,
    witnessRecords: entries,
    taskRecords: entries,
    observations: entries,
    settlements: entries,
  }, plain),
  workProof: fc.uint8Array({ maxLength: 64 }),
}, plain);

test('round-trips: header, tx, body, block', () => {
  fc.assert(fc.property(headerArb, (h) => assert.equal(decodeHeader(encodeHeader(h)), h)), { numRuns: 300 });
  fc.assert(fc.property(txArb, (t) => assert.equal(decodeTx(encodeTx(t)), t)), { numRuns: 300 });
  fc.assert(
    fc.property(blockArb, (b) => {
      assert.equal(decodeBlock(encodeBlock(b, limits), limits), b);
      assert.equal(decodeBody(encodeBody(b.body, limits), limits), b.body);
    }),
    { numRuns: 150 },
  );
});

test('mutations of valid encodings decode to a different value or a coded error', () => {
  fc.assert(
    fc.property(blockArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (b, at, xor) => {
      const bytes = encodeBlock(b, limits);
      const i = at % bytes.length;
      bytes[i]! ^= xor;
      try {
        const back = decodeBlock(bytes, limits);
        assert.not.equal(back, b);
      } catch (e) {
        assert.instance(e, CodecError);
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
