#!/usr/bin/env node
// Builds wasm/pouw_kernels.wasm from the shared kernel sources in native/src
// with clang/lld (wasm32, SIMD128, freestanding: no libc, no allocator).
// The built module is committed, so users need no clang; CI runs
// `node scripts/build-wasm.mjs --check` to rebuild it and fail if the bytes
// differ from the committed file.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'wasm', 'pouw_kernels.wasm');
const check = process.argv.includes('--check');

export const SOURCES = [
  'native/src/sha256d.cc',
  'native/src/sha256d_wasm.cc',
  'native/src/gemm_i8.cc',
  'native/src/gemm_f32.cc',
  'native/src/matrix.cc',
  'native/src/lottery.cc',
  'native/src/lottery_stream.cc',
  'native/src/lottery_portable.cc',
  'native/src/lottery_simd128.cc',
  'native/src/peak.cc',
];
export const EXPORTS = [
  'pouw_sha256d_scan',
  'pouw_sha256d_impl',
  'pouw_sha256d',
  'pouw_gemm_i8',
  'pouw_gemm_i8_scratch_bytes',
  'pouw_gemm_i8_impl',
  'pouw_gemm_f32',
  'pouw_gemm_f32_scratch_bytes',
  'pouw_gemm_f32_impl',
  'pouw_commit_lines',
  'pouw_commit_scratch_bytes',
  'pouw_freivalds',
  'pouw_freivalds_scratch_bytes',
  'pouw_tile_state',
  'pouw_lottery_run',
  'pouw_lottery_scratch_bytes',
  'pouw_lottery_impl',
  'pouw_lottery_plain_gemm',
  'pouw_lottery_plain_scratch_bytes',
  'pouw_peak_i8_count',
  'pouw_peak_i8_unit',
  'pouw_peak_i8_sequence',
  'pouw_peak_i8_available',
  'pouw_peak_i8_run',
  '__heap_base',
];

function findClang() {
  for (const c of [process.env.CLANGXX, 'clang++', 'clang++-16', 'clang++-15', 'clang++-14'].filter(Boolean)) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  console.error('build-wasm: clang++ not found (Debian: apt-get install clang lld)');
  process.exit(2);
}

const clang = findClang();
const dir = mkdtempSync(join(tmpdir(), 'pouw-wasm-'));
const out = join(dir, 'pouw_kernels.wasm');
const args = [
  '--target=wasm32',
  '-O3',
  '-msimd128',
  '-mbulk-memory',
  '-nostdlib',
  '-ffreestanding',
  '-fno-exceptions',
  '-fno-rtti',
  '-std=c++17',
  // Reproducible output: no build paths or debug info in the module.
  '-g0',
  `-ffile-prefix-map=${root}=.`,
  '-Wl,--no-entry',
  '-Wl,--strip-all',
  '-Wl,--initial-memory=1048576',
  '-Wl,--max-memory=2147483648',
  ...EXPORTS.map((e) => `-Wl,--export=${e}`),
  '-Inative/src',
  '-o',
  out,
  ...SOURCES,
];
const r = spawnSync(clang, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  rmSync(dir, { recursive: true, force: true });
  console.error(`build-wasm: ${clang} failed`);
  process.exit(1);
}
if (check) {
  const fresh = readFileSync(out);
  let committed;
  try {
    committed = readFileSync(output);
  } catch {
    committed = Buffer.alloc(0);
  }
  rmSync(dir, { recursive: true, force: true });
  if (!fresh.equals(committed)) {
    console.error('build-wasm --check: wasm/pouw_kernels.wasm differs from a fresh build; run `npm run build:wasm` and commit it');
    process.exit(1);
  }
  console.log(`build-wasm --check: wasm/pouw_kernels.wasm matches a fresh build (${fresh.length} bytes)`);
} else {
  copyFileSync(out, output);
  rmSync(dir, { recursive: true, force: true });
  console.log(`build-wasm: wrote wasm/pouw_kernels.wasm with ${clang}`);
}
