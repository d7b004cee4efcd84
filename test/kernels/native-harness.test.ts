// The C++ kernel harnesses (native/test/*.sh) check every dispatch path this
// CPU has (AVX-512, SHA-NI, portable...), not only the one the addon picks.
// They need a C++ compiler; without one the absence is reported, and
// POUW_REQUIRE_NATIVE=1 (CI) makes it a failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './backends.js';

const cxx = spawnSync(process.env.CXX ?? 'g++', ['--version'], { encoding: 'utf8' });
const haveCxx = !cxx.error && cxx.status === 0;
if (!haveCxx) process.stderr.write('\n  !! C++ kernel harnesses NOT RUN: no C++ compiler (set CXX or install g++)\n');

test('a C++ compiler is present for the kernel harnesses, or its absence is reported', () => {
  if (process.env.POUW_REQUIRE_NATIVE === '1') assert.ok(haveCxx, 'g++ required');
});

if (haveCxx) {
  test('SHA-256d harness: every dispatch path passes', () => {
    const r = spawnSync('bash', [join(root, 'native/test/run.sh')], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\b0 failures\b/);
    assert.match(r.stdout, /portable\s+ok/);
  });

  test('lottery harness: every dispatch path reproduces the vectors and the reference', () => {
    const r = spawnSync('bash', [join(root, 'native/test/lottery_run.sh')], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\b0 failures\b/);
    assert.match(r.stdout, /portable/);
  });

  test('GEMM harness: int8 exact and float32 within bounds on every dispatch path', () => {
    const r = spawnSync('bash', [join(root, 'native/test/gemm_run.sh')], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /all passed/);
  });
}

test.run();
