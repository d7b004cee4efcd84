// Backend choice: fastest first, POUW_KERNEL overrides, reasons for every
// skipped backend; and a failed native build leaves the install working on
// WASM (the build script exits 0 and says why).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseBackend, jsBackend } from '../../core/kernel.js';
import { selectKernel } from '../../platform/node/kernels.js';
import { root } from './backends.js';

test('without the addon the WASM backend is chosen, and the reason is kept', async () => {
  const fake = mkdtempSync(join(tmpdir(), 'pouw-select-'));
  try {
    mkdirSync(join(fake, 'wasm'));
    copyFileSync(join(root, 'wasm/pouw_kernels.wasm'), join(fake, 'wasm/pouw_kernels.wasm'));
    const choice = await selectKernel(fake, undefined);
    assert.is(choice.backend.name, 'wasm');
    assert.is(choice.skipped.length, 1);
    assert.is(choice.skipped[0]!.name, 'native');
    assert.match(choice.skipped[0]!.reason, /not built/);
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
});

test('POUW_KERNEL names the backend; unknown names are refused', async () => {
  const choice = await selectKernel(root, 'js');
  assert.is(choice.backend.name, 'js');
  assert.ok(choice.skipped.every((s) => /POUW_KERNEL=js/.test(s.reason)));
  try {
    await selectKernel(root, 'gpu');
    assert.unreachable('an unknown backend must be refused');
  } catch (e) {
    assert.instance(e, RangeError);
  }
});

test('chooseBackend reports every failure when nothing loads', async () => {
  const failing = (name: 'native' | 'wasm') => ({ name, load: async () => Promise.reject(new Error(`${name} broke`)) });
  const ok = await chooseBackend([failing('native'), failing('wasm'), { name: 'js', load: async () => jsBackend() }]);
  assert.equal(ok.skipped, [
    { name: 'native', reason: 'native broke' },
    { name: 'wasm', reason: 'wasm broke' },
  ]);
  try {
    await chooseBackend([failing('native'), failing('wasm')]);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /native broke.*wasm broke/);
  }
});

test('a failed native build does not fail the install (and is fatal only when strict)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-native-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, POUW_BUILD_DIR: dir, CXX: join(dir, 'no-such-compiler'), POUW_CUDA: 'OFF' };
    delete env.POUW_NATIVE_STRICT;
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: root, env, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /build failed .*WASM kernels will be used/);
    const strict = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: root, env: { ...env, POUW_NATIVE_STRICT: '1' }, encoding: 'utf8' });
    assert.is(strict.status, 1);
    const skipped = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: root, env: { ...env, POUW_NATIVE: '0' }, encoding: 'utf8' });
    assert.is(skipped.status, 0);
    assert.match(skipped.stderr, /skipped/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
