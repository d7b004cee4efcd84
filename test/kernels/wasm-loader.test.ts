// The WASM loader takes bytes (Node) or an already compiled module (Workers
// import .wasm files as WebAssembly.Module); both give the same backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../core/bytes.js';
import { loadWasm, WASM_MODULE } from '../../wasm/index.js';
import { root } from './backends.js';

const bytes = readFileSync(join(root, WASM_MODULE));

test('bytes and a compiled module load the same kernels', async () => {
  const fromBytes = await loadWasm(bytes);
  const fromModule = await loadWasm(await WebAssembly.compile(bytes));
  const msg = new TextEncoder().encode('abc');
  assert.is(toHex(fromModule.sha256d(msg)), toHex(fromBytes.sha256d(msg)));
  const once = createHash('sha256').update(msg).digest();
  assert.is(toHex(fromBytes.sha256d(msg)), createHash('sha256').update(once).digest('hex'));
  assert.is(fromModule.capabilities.sha256d, 'simd128-4x');
});

test('corrupt bytes give a clear error', async () => {
  try {
    await loadWasm(bytes.subarray(0, 100));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /could not be instantiated/);
  }
});

test('one instance refuses a second concurrent scan instead of corrupting the first', async () => {
  const b = await loadWasm(bytes);
  const job = { header: new Uint8Array(104), nonceOffset: 96, nonceWidth: 8 as const, target: 0n, start: 0n, count: 1n << 18n };
  const first = b.sha256dScan(job);
  let refused = false;
  try {
    await b.sha256dScan(job);
  } catch (e) {
    refused = /already scanning/.test((e as Error).message);
  }
  assert.ok(refused);
  assert.is((await first).hashesDone, 1n << 18n);
});

test.run();
