#!/usr/bin/env node
// Builds the native kernel addon with cmake-js on `npm install`.
//
// A failed native build must not fail the install: the WASM kernels are the
// fallback. So this script always exits 0, prints one line saying what
// happened and where the full log is, and `pouw --version` later tells which
// backend runs and why the faster ones were skipped.
//
// Environment: POUW_NATIVE=0 skips the build; POUW_CUDA=AUTO|ON|OFF is passed
// to CMake (default AUTO); POUW_NATIVE_STRICT=1 makes a failure fatal (CI);
// POUW_BUILD_DIR puts the build elsewhere than build/ (tests).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = process.env.POUW_BUILD_DIR || join(root, 'build');
const logPath = join(buildDir, 'native-build.log');
const say = (msg) => process.stderr.write(`pouw: ${msg}\n`);
const strict = process.env.POUW_NATIVE_STRICT === '1';

function finish(ok, msg) {
  say(msg);
  process.exit(ok || !strict ? 0 : 1);
}

if (process.env.POUW_NATIVE === '0') finish(true, 'native addon build skipped (POUW_NATIVE=0); the WASM kernels will be used');

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  finish(false, 'native addon not built: cmake was not found (install cmake and a C++ compiler, then `npm rebuild`); the WASM kernels will be used');
}

let cmakeJs;
try {
  cmakeJs = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch {
  finish(false, 'native addon not built: cmake-js is not installed; the WASM kernels will be used');
}

const cuda = (process.env.POUW_CUDA ?? 'AUTO').toUpperCase();
if (!['AUTO', 'ON', 'OFF'].includes(cuda)) finish(false, `POUW_CUDA must be AUTO, ON or OFF, not ${cuda}`);

mkdirSync(buildDir, { recursive: true });
say(`building the native kernel addon (cmake-js, CUDA ${cuda}); log: ${logPath}`);
const started = Date.now();
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '-d', root, '-O', buildDir, `--CDPOUW_CUDA=${cuda}`, '-l', 'warn'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, NO_COLOR: '1' },
  maxBuffer: 64 * 1024 * 1024,
});
writeFileSync(logPath, `${r.stdout ?? ''}\n${r.stderr ?? ''}\n${r.error ? String(r.error) : ''}`);
const addon = join(buildDir, 'Release', 'pouw_native.node');
const seconds = ((Date.now() - started) / 1000).toFixed(0);
if (r.status === 0 && existsSync(addon)) {
  finish(true, `native kernel addon built in ${seconds} s (${addon})`);
}
const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-5).join('\n  ');
finish(false, `native addon build failed after ${seconds} s; the WASM kernels will be used. Last lines:\n  ${tail}\n  full log: ${logPath}`);
