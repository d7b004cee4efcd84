/**
 * Block validation and sync throughput of a sector node, measured side by
 * side in one process:
 *   (a) validation — the chain connected into a fresh SQLite store with every
 *       signature verified: Chain.accept block after block on the calling
 *       thread (the reference), then the node's ordered queue
 *       (node/block-queue.ts, one commit per batch) verifying in-thread, and
 *       the queue with the verify pool (node/verify-pool.ts) feeding the
 *       signature cache;
 *   (b) sync — two SectorNode instances on 127.0.0.1 with real WebSockets and
 *       SQLite files: A holds the chain, B starts empty with A as its peer;
 *       timed until B's tip is A's, with B verifying in-thread and with the pool.
 * Both nodes of (b) share this process's event loop, so A's serving is
 * counted against B's time: the figures are a lower bound for two machines.
 *
 * The chain is one devnet sector whose genesis sits at the pow limit, with
 * block times exactly on the target spacing (ASERT keeps the bits there) and
 * a genesis time in the past; transfers between several keys ride on every
 * other block. It is mined on the fastest kernel backend that loads and kept
 * in a file under the OS temp dir named by a hash of its parameters, so a
 * rerun skips generation.
 *
 *   npm run bench:sync [-- --blocks 10000 --txs-per-block 4 --json]
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bodyRoot, decodeBlock, emptyBody, encodeBlock, type Block } from '../core/block.js';
import { genesisBlock, networkId as computeNetworkId } from '../core/genesis.js';
import { blockId, encodeHeader, HEADER_VERSION, NONCE_OFFSET, type BlockHeader } from '../core/header.js';
import { addressOf, keyPairFromSeed } from '../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../core/params.js';
import { genesisState } from '../core/state-transition.js';
import { bitsToTarget } from '../core/target.js';
import { signTx, type Tx } from '../core/tx.js';
import { blockSignatureChecks, BlockQueue } from '../node/block-queue.js';
import { Chain } from '../node/chain.js';
import { selectKernel } from '../platform/node/kernels.js';
import { packageInfo } from '../platform/node/package-info.js';
import { SectorNode } from '../node/sector-node.js';
import { cachedVerifier, SignatureCache } from '../node/sig-cache.js';
import { openStore } from '../node/store.js';
import { defaultVerifyThreads, VerifyPool } from '../node/verify-pool.js';
import { fastVerifier } from '../platform/node/verify.js';

const FORMAT = 'pouw-bench-sync/1';
const KEYS = 8;
const TX_EVERY = 2;
const WEEK_MS = 7 * 24 * 3600 * 1000;

interface Args {
  blocks: number;
  txsPerBlock: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { blocks: 10_000, txsPerBlock: 4, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (name: string) => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) usage(`${name} takes a non-negative integer`);
      return v;
    };
    if (a === '--blocks') args.blocks = num(a);
    else if (a === '--txs-per-block') args.txsPerBlock = num(a);
    else if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  if (args.blocks < 1) usage('--blocks must be at least 1');
  return args;
}

function usage(problem?: string): never {
  const text = 'usage: npm run bench:sync [-- --blocks N (10000)] [--txs-per-block N (4)] [--json]';
  if (problem) {
    console.error(`${problem}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** The devnet with its genesis at the sector's pow limit, starting far enough back for every block to be in the past. */
function benchSpec(blocks: number): NetworkSpec {
  const base = devnetSpec(0);
  const spacing = Math.max(...base.sectors.map((s) => s.blockTimeMs));
  // Rounded to a week so the chain (and its cache file) stays the same between runs.
  const genesisTimeMs = Math.floor((Date.now() - (blocks + 100) * spacing) / WEEK_MS) * WEEK_MS;
  return { ...devnetSpec(genesisTimeMs), sectors: base.sectors.map((s) => ({ ...s, genesisBits: s.powLimitBits })) };
}

interface BenchChain {
  blocks: Block[];
  encoded: Uint8Array[];
  txs: number;
  bytes: number;
}

function cachePath(spec: NetworkSpec, args: Args): string {
  const key = JSON.stringify({ FORMAT, genesis: spec.genesisTimeMs, blocks: args.blocks, txs: args.txsPerBlock, KEYS, TX_EVERY });
  return join(tmpdir(), `pouw-bench-sync-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.chain`);
}

/** Mines the chain (or reads it back from the cache file). */
async function buildChain(spec: NetworkSpec, args: Args): Promise<BenchChain> {
  const sector = spec.sectors[0]!;
  const path = cachePath(spec, args);
  const encoded: Uint8Array[] = [];
  if (existsSync(path)) {
    const file = readFileSync(path);
    for (let at = 0; at < file.length; ) {
      const n = file.readUInt32LE(at);
      encoded.push(new Uint8Array(file.buffer, file.byteOffset + at + 4, n));
      at += 4 + n;
    }
    log(`chain: ${encoded.length} blocks read from the cache file`);
  } else {
    const t0 = performance.now();
    const { backend, skipped } = await selectKernel(packageInfo().root);
    log(`chain: mining ${args.blocks} blocks on the ${backend.name} kernel (${backend.capabilities.sha256d})` +
      (skipped.length ? `; skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}` : ''));
    const networkId = computeNetworkId(spec);
    const keys = Array.from({ length: KEYS }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(0x40 + i)));
    const nonces = keys.map(() => 0n);
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    let parent = genesisBlock(spec, sector).header;
    for (let h = 1; h <= args.blocks; h++) {
      const txs: Tx[] = [];
      // Every key has been paid a subsidy once height passes KEYS.
      if (h > KEYS && h % TX_EVERY === 0) {
        for (let j = 0; j < args.txsPerBlock; j++) {
          const from = (h + j) % KEYS;
          const to = addressOf(keys[(from + 1) % KEYS]!.publicKey);
          txs.push(
            signTx(
              { version: 1, chain: sector.id, from: keys[from]!.publicKey, nonce: nonces[from]!++, fee: 10n, payload: { kind: 'transfer', to, amount: 1000n + BigInt(j) } },
              keys[from]!.secretKey,
              networkId,
            ),
          );
        }
      }
      const body = { ...emptyBody(addressOf(keys[h % KEYS]!.publicKey)), txs };
      const header: BlockHeader = {
        version: HEADER_VERSION,
        sectorId: sector.id,
        height: h,
        prevHash: blockId(parent),
        bodyRoot: bodyRoot(body),
        timeMs: spec.genesisTimeMs + h * sector.blockTimeMs,
        bits: sector.powLimitBits,
        workKind: 'hash',
        nonce: 0n,
      };
      const target = bitsToTarget(header.bits);
      if (!target.ok) throw new Error(`bits: ${target.code}`);
      const r = await backend.sha256dScan({
        header: encodeHeader(header),
        nonceOffset: NONCE_OFFSET,
        nonceWidth: 8,
        target: target.value,
        start: 0n,
        count: 1n << 20n,
        maxFound: 1,
        stopOnFind: true,
        cancel,
        threads: 1,
      });
      if (r.found.length === 0) throw new Error(`no nonce found at height ${h}`);
      const block: Block = { header: { ...header, nonce: r.found[0]! }, body, workProof: new Uint8Array(0) };
      encoded.push(encodeBlock(block, spec.limits));
      parent = block.header;
      if (h % 2000 === 0) log(`  ${h} / ${args.blocks}`);
    }
    await backend.close();
    const file = Buffer.alloc(encoded.reduce((s, e) => s + 4 + e.length, 0));
    let at = 0;
    for (const e of encoded) {
      file.writeUInt32LE(e.length, at);
      file.set(e, at + 4);
      at += 4 + e.length;
    }
    writeFileSync(`${path}.tmp`, file);
    renameSync(`${path}.tmp`, path);
    log(`chain: generated in ${((performance.now() - t0) / 1000).toFixed(1)} s, cached for reruns`);
  }
  const blocks = encoded.map((e) => decodeBlock(e, spec.limits));
  return { blocks, encoded, txs: blocks.reduce((s, b) => s + b.body.txs.length, 0), bytes: encoded.reduce((s, e) => s + e.length, 0) };
}

interface Figures {
  mode: string;
  /** Signature worker threads besides the main one. */
  workers: number;
  /** Share of the signatures the workers verified (validation with the pool). */
  workerShare?: number;
  seconds: number;
  blocksPerSecond: number;
  txsPerSecond: number;
  megabytesPerSecond: number;
}

function figures(mode: string, workers: number, ms: number, chain: BenchChain, workerShare?: number): Figures {
  const s = ms / 1000;
  return {
    mode,
    workers,
    ...(workerShare !== undefined ? { workerShare } : {}),
    seconds: s,
    blocksPerSecond: chain.blocks.length / s,
    txsPerSecond: chain.txs / s,
    megabytesPerSecond: chain.bytes / 1e6 / s,
  };
}

/**
 * Connects the whole chain into a fresh store at `dbPath`; returns the time
 * taken. `workers` undefined is the reference: Chain.accept block after block
 * with the fast verifier, one commit per block. Otherwise the node's path:
 * the ordered queue, one commit per batch, signatures verified ahead on
 * `workers` worker threads (0: in-thread, by the chain).
 */
async function validate(spec: NetworkSpec, chain: BenchChain, dbPath: string, workers?: number): Promise<{ ms: number; workerShare?: number }> {
  const sector = spec.sectors[0]!;
  const networkId = computeNetworkId(spec);
  const store = openStore(dbPath, { limits: spec.limits });
  const genesis = genesisBlock(spec, sector);
  store.initGenesis(genesis, blockId(genesis.header), genesisState(spec, sector));
  const cache = new SignatureCache();
  const verify = workers === undefined ? fastVerifier() : cachedVerifier(cache, fastVerifier(), { erase: true });
  const c = new Chain(store, { spec, sector, networkId, now: Date.now, verify });
  const accept = (b: Block) => {
    const r = c.accept(b);
    if (!r.ok || r.value.status !== 'connected') throw new Error(`block ${b.header.height} not connected: ${r.ok ? r.value.status : r.code}`);
  };
  let ms: number;
  let workerShare: number | undefined;
  if (workers === undefined) {
    const t0 = performance.now();
    for (const b of chain.blocks) accept(b);
    ms = performance.now() - t0;
  } else {
    const pool = new VerifyPool({ threads: workers });
    let failure: unknown;
    const queue = new BlockQueue<Block>({
      networkId,
      cache,
      pool,
      blockOf: (b) => b,
      accept,
      transaction: (fn) => store.transaction(fn),
      onError: (e) => (failure ??= e),
    });
    const t0 = performance.now();
    for (const b of chain.blocks) queue.push(b);
    await queue.idle();
    ms = performance.now() - t0;
    if (workers > 0) workerShare = pool.counts.workers / Math.max(1, pool.counts.workers + pool.counts.main);
    await pool.close();
    if (failure) throw failure;
  }
  if (c.tip().height !== chain.blocks.length) throw new Error(`tip at ${c.tip().height}, expected ${chain.blocks.length}`);
  store.close();
  return { ms, workerShare };
}

/** Starts B empty with A as its peer and times it until its tip is A's. */
async function sync(spec: NetworkSpec, a: SectorNode, portA: number, dbPath: string, workers: number, height: number): Promise<number> {
  const b = new SectorNode({ spec, sector: spec.sectors[0]!, dbPath, peers: [`ws://127.0.0.1:${portA}`], verifyThreads: workers });
  const done = new Promise<void>((resolve, reject) => {
    b.on((e) => {
      if (e.type === 'block-connected' && e.height === height) resolve();
      if (e.type === 'block-rejected') reject(new Error(`B rejected ${e.id}: ${e.code} ${e.detail}`));
    });
  });
  done.catch(() => {});
  const t0 = performance.now();
  await b.start();
  await done;
  const ms = performance.now() - t0;
  const same = b.chain.tip().height === a.chain.tip().height;
  await b.stop();
  if (!same) throw new Error('B stopped short of A');
  return ms;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const spec = benchSpec(args.blocks);
  const chain = await buildChain(spec, args);
  const workers = defaultVerifyThreads();
  const dir = mkdtempSync(join(tmpdir(), 'pouw-bench-sync-'));
  try {
    // Reference: the signatures alone, one thread.
    const checks = chain.blocks.flatMap((b) => blockSignatureChecks(b, computeNetworkId(spec)));
    const verify = fastVerifier();
    const tv = performance.now();
    for (const c of checks) if (!verify(c.signature, c.message, c.publicKey)) throw new Error('a signature of the chain does not verify');
    const sigsPerSecond = checks.length / ((performance.now() - tv) / 1000);

    log('validation: reference (block after block, in-thread)');
    const validation = [figures('reference', 0, (await validate(spec, chain, join(dir, 'a.db'))).ms, chain)];
    log('validation: queue, in-thread');
    validation.push(figures('queue', 0, (await validate(spec, chain, join(dir, 'q.db'), 0)).ms, chain));
    if (workers > 0) {
      log(`validation: queue, verify pool of ${workers} worker(s) + main`);
      const v = await validate(spec, chain, join(dir, 'v.db'), workers);
      validation.push(figures('queue + pool', workers, v.ms, chain, v.workerShare));
    }

    const a = new SectorNode({ spec, sector: spec.sectors[0]!, dbPath: join(dir, 'a.db'), verifyThreads: 0 });
    const portA = await a.start();
    const syncs: Figures[] = [];
    try {
      for (const w of workers > 0 ? [0, workers] : [0]) {
        log(`sync: B verifying ${w === 0 ? 'in-thread' : `on ${w} worker(s) + main`}`);
        syncs.push(figures(w === 0 ? 'queue' : 'queue + pool', w, await sync(spec, a, portA, join(dir, `b${w}.db`), w, args.blocks), chain));
      }
    } finally {
      await a.stop();
    }

    const report = {
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
      command: `npm run bench:sync -- --blocks ${args.blocks} --txs-per-block ${args.txsPerBlock}`,
      chain: { blocks: chain.blocks.length, txs: chain.txs, megabytes: chain.bytes / 1e6, keys: KEYS, txEvery: TX_EVERY },
      reference: { signaturesPerSecondOneThread: sigsPerSecond },
      validation,
      sync: syncs,
    };
    if (args.json) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    const mb = (chain.bytes / 1e6).toFixed(1);
    console.log(`sector sync benchmark, ${report.machine.cpus} CPUs (${report.machine.model}), ${process.version}`);
    console.log(`chain: ${chain.blocks.length} blocks, ${chain.txs} txs (${args.txsPerBlock} on every ${TX_EVERY}nd block, ${KEYS} keys), ${mb} MB`);
    console.log(`reference: ed25519 verify alone, 1 thread: ${Math.round(sigsPerSecond)} /s`);
    const row = (what: string, f: Figures) =>
      console.log(
        `  ${what.padEnd(11)} ${f.mode.padEnd(12)} ${String(f.workers).padStart(7)}  ${f.seconds.toFixed(2).padStart(7)} s` +
          `  ${Math.round(f.blocksPerSecond).toString().padStart(8)}  ${Math.round(f.txsPerSecond).toString().padStart(8)}  ${f.megabytesPerSecond.toFixed(2).padStart(6)}`,
      );
    console.log(`  ${'phase'.padEnd(11)} ${'path'.padEnd(12)} workers     time    blocks/s     txs/s    MB/s`);
    for (const f of validation) row('validation', f);
    for (const f of syncs) row('sync', f);
    const pooled = validation.find((f) => f.workerShare !== undefined);
    if (pooled) console.log(`  (validation with the pool: ${(100 * pooled.workerShare!).toFixed(1)}% of the signatures verified on workers)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
