/**
 * Loader of the WASM kernels (wasm/pouw_kernels.wasm): the same C++ sources as
 * the native addon, compiled for wasm32 + SIMD128. It takes the module's bytes
 * or an already compiled WebAssembly.Module, so Node (which reads the file)
 * and Cloudflare Workers (which import the module) share it.
 *
 * The module is freestanding: no allocator. This loader lays out its own
 * scratch area from `__heap_base` (job, result, header, found nonces) and
 * grows memory when a scan needs more room. One instance runs one scan at a
 * time on the calling thread; scans run in chunks and yield to the event loop
 * between them, which is also where cancellation is seen.
 * @module
 */
import { checkGemm, checkPeakIterations, checkScanJob, targetBytes, type GemmDims, type KernelBackend, type LotteryResult, type PeakProbe } from '../core/kernel.js';

export const WASM_MODULE = 'wasm/pouw_kernels.wasm';

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  pouw_sha256d_scan(job: number, startLo: bigint, count: bigint, found: number, maxFound: number, stopOnFind: number, cancel: number, result: number): number;
  pouw_sha256d_impl(): number;
  pouw_sha256d(data: number, len: number, out: number): void;
  pouw_gemm_i8(a: number, b: number, c: number, m: number, k: number, n: number, scratch: number): void;
  pouw_gemm_i8_scratch_bytes(m: number, k: number, n: number): number;
  pouw_gemm_i8_impl(): number;
  pouw_gemm_f32(a: number, b: number, c: number, m: number, k: number, n: number, scratch: number): void;
  pouw_gemm_f32_scratch_bytes(m: number, k: number, n: number): number;
  pouw_gemm_f32_impl(): number;
  pouw_commit_lines(m: number, rows: number, cols: number, byColumns: number, root: number, scratch: number): number;
  pouw_commit_scratch_bytes(rows: number, cols: number): number;
  pouw_freivalds(a: number, b: number, c: number, m: number, k: number, n: number, seed: number, rounds: number, scratch: number): number;
  pouw_freivalds_scratch_bytes(m: number, k: number, n: number): number;
  pouw_lottery_run(
    a: number, b: number, m: number, k: number, n: number, cfg: number, seedA: number, seedB: number, threshold: number,
    tickets: number, winners: number, maxWinners: number, nWinners: number, product: number, scratch: number,
  ): number;
  pouw_lottery_scratch_bytes(m: number, k: number, n: number, rank: number, tileRows: number, tileCols: number): number;
  pouw_lottery_impl(): number;
  pouw_lottery_plain_gemm(a: number, b: number, m: number, k: number, n: number, c: number, scratch: number): number;
  pouw_lottery_plain_scratch_bytes(m: number, k: number, n: number): number;
  pouw_tile_state(ae: number, bft: number, h: number, w: number, k: number, rank: number, state: number, scratch: number): number;
  pouw_peak_i8_count(): number;
  pouw_peak_i8_unit(i: number): number;
  pouw_peak_i8_sequence(i: number): number;
  pouw_peak_i8_available(i: number): number;
  pouw_peak_i8_run(i: number, iterations: number): number;
}

// Scratch layout (offsets from __heap_base, 8-aligned).
const JOB = 0; // pouw_sha256d_job: header ptr, header_len, nonce_offset, nonce_width, target[32] = 48 bytes
const RESULT = 48; // pouw_sha256d_result: u64 hashes_done, u32 found_count (16 bytes)
const HEADER = 64; // up to 128 bytes
const OUT32 = 192; // 32-byte digest
const FOUND = 256; // u64 found nonces
const CHUNK = 1n << 16n;
/** Where matrix operands start: past the scan area and its largest found buffer. */
const ARENA = 1 << 20;
const align64 = (n: number) => Math.ceil(n / 64) * 64;

export async function loadWasm(source: Uint8Array | WebAssembly.Module): Promise<KernelBackend> {
  if (typeof WebAssembly === 'undefined') throw new Error('this runtime has no WebAssembly');
  let instance: WebAssembly.Instance;
  try {
    const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
    instance = await WebAssembly.instantiate(module, {});
  } catch (e) {
    throw new Error(`${WASM_MODULE} could not be instantiated (${(e as Error).message}); SIMD128 support is required`);
  }
  const x = instance.exports as unknown as Exports;
  const base = Number(x.__heap_base.value);

  const ensure = (bytes: number) => {
    const need = base + bytes - x.memory.buffer.byteLength;
    if (need > 0) x.memory.grow(Math.ceil(need / 65536));
  };
  const mem = () => new Uint8Array(x.memory.buffer);
  const view = () => new DataView(x.memory.buffer);
  const cString = (ptr: number) => {
    const m = mem();
    let end = ptr;
    while (m[end] !== 0) end++;
    return new TextDecoder().decode(m.subarray(ptr, end));
  };

  let busy = false;
  const backend: KernelBackend = {
    name: 'wasm',
    capabilities: {
      sha256d: cString(x.pouw_sha256d_impl()),
      gemmI8: cString(x.pouw_gemm_i8_impl()),
      gemmF32: cString(x.pouw_gemm_f32_impl()),
      lottery: cString(x.pouw_lottery_impl()),
      maxThreads: 1,
      details: {},
    },
    peakProbes() {
      const probes: PeakProbe[] = [];
      for (let i = 0; i < x.pouw_peak_i8_count(); i++) {
        if (!x.pouw_peak_i8_available(i)) continue;
        probes.push({
          unit: cString(x.pouw_peak_i8_unit(i)),
          sequence: cString(x.pouw_peak_i8_sequence(i)),
          run(iterations) {
            checkPeakIterations(iterations);
            return x.pouw_peak_i8_run(i, iterations >>> 0);
          },
        });
      }
      return probes;
    },
    sha256d(data) {
      ensure(OUT32 + 32 + 64 + data.length);
      const at = base + OUT32 + 64;
      mem().set(data, at);
      x.pouw_sha256d(at, data.length, base + OUT32);
      return mem().slice(base + OUT32, base + OUT32 + 32);
    },
    async sha256dScan(job) {
      checkScanJob(job);
      if (busy) throw new Error('this WASM instance is already scanning; use one instance per worker');
      busy = true;
      try {
        const maxFound = job.maxFound ?? 16;
        if (FOUND + 8 * maxFound > ARENA) throw new RangeError(`maxFound above ${(ARENA - FOUND) / 8} for the WASM backend`);
        ensure(FOUND + 8 * maxFound);
        const m = mem();
        const v = view();
        m.set(job.header, base + HEADER);
        v.setUint32(base + JOB, base + HEADER, true);
        v.setUint32(base + JOB + 4, job.header.length, true);
        v.setUint32(base + JOB + 8, job.nonceOffset, true);
        v.setUint32(base + JOB + 12, job.nonceWidth, true);
        m.set(targetBytes(job.target), base + JOB + 16);
        const space = 1n << BigInt(8 * job.nonceWidth);
        const found: bigint[] = [];
        let done = 0n;
        while (done < job.count) {
          if (job.cancel && job.cancel[0] !== 0) break;
          const step = job.count - done < CHUNK ? job.count - done : CHUNK;
          const from = (job.start + done) % space;
          const rc = x.pouw_sha256d_scan(base + JOB, from, step, base + FOUND, maxFound - found.length || 1, job.stopOnFind ? 1 : 0, 0, base + RESULT);
          if (rc !== 0) throw new RangeError(`invalid scan job (code ${rc})`);
          const dv = view();
          const hashes = dv.getBigUint64(base + RESULT, true);
          const n = dv.getUint32(base + RESULT + 8, true);
          done += hashes;
          for (let i = 0; i < n && found.length < maxFound; i++) found.push(dv.getBigUint64(base + FOUND + 8 * i, true));
          if ((job.stopOnFind && n > 0) || hashes < step) break;
          // Let timers and I/O run between chunks.
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        return { found, hashesDone: done };
      } finally {
        busy = false;
      }
    },
    async gemmI8(A, B, dims) {
      checkGemm(A, B, dims);
      return gemm(A, B, new Int32Array(dims.m * dims.n), dims, x.pouw_gemm_i8, x.pouw_gemm_i8_scratch_bytes);
    },
    async gemmF32(A, B, dims) {
      checkGemm(A, B, dims);
      return gemm(A, B, new Float32Array(dims.m * dims.n), dims, x.pouw_gemm_f32, x.pouw_gemm_f32_scratch_bytes);
    },
    async lottery(job) {
      const { A, B, m, k, n, config } = job;
      const scratchBytes = x.pouw_lottery_scratch_bytes(m, k, n, config.rank, config.tileRows, config.tileCols);
      if (scratchBytes === 0 || A.length !== m * k || B.length !== k * n) {
        throw new RangeError('lottery shape rules broken: 2 ≤ rank ≤ k ≤ 65536, m % tileRows = 0, n % tileCols = 0, A m·k, B k·n');
      }
      const tiles = (m / config.tileRows) * (n / config.tileCols);
      const [a, b, cfg, sa, sb, th, tickets, winners, count, product, scratch] = arena([
        A.byteLength, B.byteLength, 12, 32, 32, 32, 32 * tiles, 4 * tiles, 4, job.recover ? 4 * m * n : 0, scratchBytes,
      ]);
      const m8 = mem();
      m8.set(new Uint8Array(A.buffer, A.byteOffset, A.byteLength), a!);
      m8.set(new Uint8Array(B.buffer, B.byteOffset, B.byteLength), b!);
      const v = view();
      v.setUint32(cfg!, config.rank, true);
      v.setUint32(cfg! + 4, config.tileRows, true);
      v.setUint32(cfg! + 8, config.tileCols, true);
      m8.set(job.seedA, sa!);
      m8.set(job.seedB, sb!);
      m8.set(targetBytes(job.threshold), th!);
      const rc = x.pouw_lottery_run(a!, b!, m, k, n, cfg!, sa!, sb!, th!, tickets!, winners!, tiles, count!, job.recover ? product! : 0, scratch!);
      if (rc === -2) throw new RangeError('lottery: an entry of A or B lies outside [-64, 64]');
      if (rc !== 0) throw new RangeError(`lottery: kernel error ${rc}`);
      const n8 = mem();
      const won = view().getUint32(count!, true);
      const out: LotteryResult = {
        tickets: n8.slice(tickets!, tickets! + 32 * tiles),
        winners: Array.from(new Uint32Array(n8.buffer.slice(winners!, winners! + 4 * won))),
      };
      if (job.recover) out.product = new Int32Array(n8.buffer.slice(product!, product! + 4 * m * n));
      return out;
    },
    async lotteryPlainGemm(A, B, dims) {
      checkGemm(A, B, dims);
      const { m, k, n } = dims;
      const [a, b, c, scratch] = arena([A.byteLength, B.byteLength, 4 * m * n, x.pouw_lottery_plain_scratch_bytes(m, k, n)]);
      const m8 = mem();
      m8.set(new Uint8Array(A.buffer, A.byteOffset, A.byteLength), a!);
      m8.set(new Uint8Array(B.buffer, B.byteOffset, B.byteLength), b!);
      const rc = x.pouw_lottery_plain_gemm(a!, b!, m, k, n, c!, scratch!);
      if (rc !== 0) throw new RangeError(`lotteryPlainGemm: kernel error ${rc}`);
      return new Int32Array(mem().buffer.slice(c!, c! + 4 * m * n));
    },
    async tileState(AE, BFT, { h, w, k, rank }) {
      if (AE.length !== h * k || BFT.length !== w * k) throw new RangeError('AE must hold h·k and BFT w·k entries');
      const [a, b, state, scratch] = arena([AE.byteLength, BFT.byteLength, 64, 4 * h * w]);
      const m8 = mem();
      m8.set(new Uint8Array(AE.buffer, AE.byteOffset, AE.byteLength), a!);
      m8.set(new Uint8Array(BFT.buffer, BFT.byteOffset, BFT.byteLength), b!);
      if (x.pouw_tile_state(a!, b!, h, w, k, rank, state!, scratch!) !== 0) throw new RangeError('tileState: rank must be ≥ 2 and ≤ k ≤ 65536');
      return new Uint32Array(mem().buffer.slice(state!, state! + 64));
    },
    async commitLines(M, rows, cols, byColumns) {
      if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1 || M.length !== rows * cols) {
        throw new RangeError(`bad matrix shape ${rows}×${cols} for ${M.length} entries`);
      }
      const [m, root, scratch] = arena([M.byteLength, 32, x.pouw_commit_scratch_bytes(rows, cols)]);
      mem().set(new Uint8Array(M.buffer, M.byteOffset, M.byteLength), m!);
      x.pouw_commit_lines(m!, rows, cols, byColumns ? 1 : 0, root!, scratch!);
      return mem().slice(root!, root! + 32);
    },
    async freivalds(A, B, C, dims, seed, rounds) {
      checkGemm(A, B, dims);
      if (C.length !== dims.m * dims.n) throw new RangeError('C must hold m·n entries');
      const [a, b, c, s, scratch] = arena([A.byteLength, B.byteLength, C.byteLength, 32, x.pouw_freivalds_scratch_bytes(dims.m, dims.k, dims.n)]);
      const m8 = mem();
      m8.set(new Uint8Array(A.buffer, A.byteOffset, A.byteLength), a!);
      m8.set(new Uint8Array(B.buffer, B.byteOffset, B.byteLength), b!);
      m8.set(new Uint8Array(C.buffer, C.byteOffset, C.byteLength), c!);
      m8.set(seed, s!);
      const rc = x.pouw_freivalds(a!, b!, c!, dims.m, dims.k, dims.n, s!, rounds, scratch!);
      if (rc === -1) throw new RangeError('freivalds: k·n above 2^39 or rounds outside 1..1024');
      if (rc === -2) throw new RangeError('freivalds: an entry of A or B lies outside [-64, 64]');
      return rc === 1;
    },
    async close() {},
  };
  return backend;

  /** Absolute addresses of consecutive 64-aligned regions in the arena, memory grown to fit. */
  function arena(sizes: number[]): number[] {
    if (busy) throw new Error('this WASM instance is busy; use one instance per worker');
    const out: number[] = [];
    let at = ARENA;
    for (const size of sizes) {
      out.push(base + at);
      at += align64(size);
    }
    ensure(at + 64);
    return out;
  }

  /** Lays A, B, C and the scratch out in the arena, runs `kernel`, copies C out. */
  function gemm<T extends Int32Array | Float32Array>(
    A: Int8Array | Float32Array,
    B: Int8Array | Float32Array,
    C: T,
    { m, k, n }: GemmDims,
    kernel: (a: number, b: number, c: number, m: number, k: number, n: number, scratch: number) => void,
    scratchBytes: (m: number, k: number, n: number) => number,
  ): T {
    const [a, b, c, scratch] = arena([A.byteLength, B.byteLength, C.byteLength, scratchBytes(m, k, n)]);
    const m8 = mem();
    m8.set(new Uint8Array(A.buffer, A.byteOffset, A.byteLength), a!);
    m8.set(new Uint8Array(B.buffer, B.byteOffset, B.byteLength), b!);
    kernel(a!, b!, c!, m, k, n, scratch!);
    new Uint8Array(C.buffer).set(mem().subarray(c!, c! + C.byteLength));
    return C;
  }
}
