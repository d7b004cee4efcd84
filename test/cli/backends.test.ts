// The backend probe against fake package roots: missing, broken and valid artefacts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NATIVE_ADDON, preferredBackend, probeBackends, WASM_MODULE } from '../../cli/backends.js';

let root = '';

test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'pouw-backends-'));
});

test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

function put(rel: string, bytes: Uint8Array): void {
  const file = join(root, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, bytes);
}

test('nothing built: native and wasm say "not built", js is used', async () => {
  const probes = await probeBackends(root);
  assert.equal(
    probes.map((p) => [p.name, p.available]),
    [
      ['native', false],
      ['wasm', false],
      ['js', true],
    ],
  );
  assert.match(probes[0]!.reason, /^not built \(no build\/Release\/pouw_native\.node/);
  assert.match(probes[1]!.reason, /^not built/);
  assert.is(preferredBackend(probes)?.name, 'js');
});

test('a broken addon and a broken wasm module say why they fail', async () => {
  put(NATIVE_ADDON, new TextEncoder().encode('not a shared library'));
  put(WASM_MODULE, new TextEncoder().encode('not wasm'));
  const [native, wasm] = await probeBackends(root);
  assert.is(native!.available, false);
  assert.match(native!.reason, /failed to load: /);
  assert.is(wasm!.available, false);
  assert.match(wasm!.reason, /could not be instantiated/);
});

test.run();
