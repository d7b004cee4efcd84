// The native addon's CPU report comes from the same check every kernel dispatches on
// (native/src/cpu_features.h): on Linux it must agree with the kernel's own view of
// the CPU (/proc/cpuinfo flags), and the implementations picked must be ones the
// reported features allow.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { loadAll } from './backends.js';

const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
const flags = new Set((cpuinfo.match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/));

test('the CPU report agrees with /proc/cpuinfo, and the chosen kernels fit it', async () => {
  const native = (await loadAll()).backends.find((b) => b.name === 'native');
  if (!native || process.arch !== 'x64' || flags.size < 2) {
    console.log('  (no native addon or no x86-64 /proc/cpuinfo here: compared nothing)');
    return;
  }
  const d = native.capabilities.details;
  const pairs: [string, string][] = [
    ['sse41', 'sse4_1'],
    ['sha', 'sha_ni'],
    ['avx2', 'avx2'],
    ['avx512f', 'avx512f'],
    ['avx512bw', 'avx512bw'],
    ['avx512vnni', 'avx512_vnni'],
    ['avx512vbmi', 'avx512vbmi'],
    ['amxInt8', 'amx_int8'],
  ];
  for (const [key, flag] of pairs) assert.is(d[key], flags.has(flag), `${key} vs the ${flag} flag`);
  const { sha256d, gemmI8, lottery } = native.capabilities;
  if (d.avx512f && d.avx512bw) assert.is(sha256d, 'avx512-16x');
  else if (d.sha) assert.is(sha256d, 'shani-4x');
  if (d.avx512vnni) assert.is(gemmI8, 'avx512-vnni');
  assert.ok(lottery === 'portable' || (lottery === 'avx2' && d.avx2) || (lottery === 'avx512-vnni' && d.avx512vnni) || (lottery === 'amx-int8' && d.amxInt8), lottery);
});

test.run();
