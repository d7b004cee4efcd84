#!/usr/bin/env sh
# Builds and runs the GEMM kernel tests with g++ directly (no CMake), with the same
# flags as the addon build (-O3 -march=x86-64-v2: the wide paths come from runtime
# dispatch, not from compiler flags).
#
#   native/test/gemm_run.sh            correctness on every path this CPU runs
#   native/test/gemm_run.sh --asan     the same under AddressSanitizer + UBSan
#   native/test/gemm_run.sh --bench    throughput per path (single thread)
#   native/test/gemm_run.sh --wasm     compile check of the wasm32 + SIMD128 build
#
# CXX overrides the compiler (g++ by default; clang++ works too).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../src"
out=${TMPDIR:-/tmp}/pouw-gemm-test
mkdir -p "$out"
cxx=${CXX:-g++}
arch=""
case "$(uname -m)" in x86_64 | amd64) arch="-march=x86-64-v2" ;; esac
flags="-O3 $arch -std=c++17 -Wall -Wextra -I$src"

case "${1:-}" in
  --bench)
    $cxx $flags "$here/gemm_bench.cc" "$src/gemm_i8.cc" "$src/gemm_f32.cc" -o "$out/gemm_bench"
    exec "$out/gemm_bench" "${2:-1.0}"
    ;;
  --asan)
    $cxx $flags -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
      "$here/gemm_test.cc" "$src/gemm_i8.cc" "$src/gemm_f32.cc" -o "$out/gemm_test_asan"
    exec "$out/gemm_test_asan"
    ;;
  --wasm)
    clang=${CLANGXX:-clang++}
    $clang --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -ffreestanding -fno-exceptions -fno-rtti \
      -std=c++17 -Wall -Wextra -I"$src" -Wl,--no-entry \
      -Wl,--export=pouw_gemm_i8 -Wl,--export=pouw_gemm_i8_scratch_bytes -Wl,--export=pouw_gemm_i8_impl \
      -Wl,--export=pouw_gemm_f32 -Wl,--export=pouw_gemm_f32_scratch_bytes -Wl,--export=pouw_gemm_f32_impl \
      -Wl,--export=__heap_base -o "$out/gemm.wasm" "$src/gemm_i8.cc" "$src/gemm_f32.cc"
    $clang --target=wasm32 -O3 -mbulk-memory -nostdlib -ffreestanding -fno-exceptions -fno-rtti \
      -std=c++17 -Wall -Wextra -I"$src" -Wl,--no-entry -Wl,--export=pouw_gemm_i8 -Wl,--export=pouw_gemm_f32 \
      -o "$out/gemm_scalar.wasm" "$src/gemm_i8.cc" "$src/gemm_f32.cc"
    echo "wasm builds ok: $out/gemm.wasm (simd128), $out/gemm_scalar.wasm (portable)"
    ;;
  "")
    $cxx $flags "$here/gemm_test.cc" "$src/gemm_i8.cc" "$src/gemm_f32.cc" -o "$out/gemm_test"
    exec "$out/gemm_test"
    ;;
  *)
    echo "usage: $0 [--asan | --bench [seconds] | --wasm]" >&2
    exit 2
    ;;
esac
