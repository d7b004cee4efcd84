/**
 * A bounded load run against the edge coordinator on loopback, on each
 * runtime, for its two hot paths:
 *   (1) MAIN tx intake — POST /v1/main/tx with distinct pre-signed MAIN
 *       transfers (one tx per request, never a replay while the pool lasts;
 *       a replay, 200 instead of 202, is counted apart), driven by autocannon
 *       with `--connections` keep-alive connections;
 *   (2) header relay — what nodes do: one authenticated WebSocket per node
 *       (`GET /v1/sectors/:id/ws`, one challenge for the socket's life),
 *       `{type:'headers'}` frames of pre-mined valid headers, each answered by
 *       a `reply`; every accepted header is also pushed to every socket. A
 *       sector's headers must arrive parent first, so each sector keeps one
 *       frame in flight, handed to its sockets in turn.
 * Per-request HTTP relay (POST /v1/sectors/:id/headers) is not driven: each
 * request needs its own challenge round trip, so it would measure challenge
 * issuance and ed25519 signing on the client, not relay.
 *
 * Each case (runtime × workload) gets a fresh edge in a child process, so the
 * load generator and the edge each have a core: Node through `startEdge` with
 * a temporary SQLite file; the Worker in workerd through wrangler's
 * `unstable_startWorker` with Durable Object storage in a temporary folder.
 * Both get the same spec and rate limits raised far above the load
 * (POUW_LIMITS), so the rate limiter's bookkeeping runs but never refuses: the
 * figures are the edge's, not its limits'. A warm-up (default 2 s) precedes
 * each measured interval and is not counted. Everything goes to 127.0.0.1.
 *
 *   npm run bench:edge [-- --seconds 10 --connections 10 --warmup 2
 *                          --runtimes node,workerd --workloads intake,relay
 *                          --batch 1 --profile DIR --json]
 *
 * What it does not do: open-loop (fixed-rate) load, assignment bursts at a
 * window's end (no beacon becomes publishable during a run: the sectors do
 * not advance while txs flow), or deployed Workers (workerd here runs the
 * Worker and its objects on this machine behind wrangler's local proxy).
 * @module
 */
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign as opensslSign, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { bodyRoot, emptyBody } from '../core/block.js';
import { equalBytes, toHex } from '../core/bytes.js';
import { genesisBlock, networkId as computeNetworkId } from '../core/genesis.js';
import { blockId, encodeHeader, type BlockHeader } from '../core/header.js';
import { keyPairFromSeed, verify } from '../core/keys.js';
import { devnetSpec, type NetworkSpec } from '../core/params.js';
import { encodeTx, signTx, txId, txSigningMessage, type Tx, type UnsignedTx } from '../core/tx.js';
import { checkHeaderWork, expectedBits } from '../core/validate.js';
import { EdgeApi } from '../api/client.js';
import type { NodeFrame } from '../api/frames.js';
import { mainSubmitBody, ROUTES } from '../api/routes.js';
import { limitsFromEnv, specFromEnv, specToJson } from '../edge/config.js';
import type { EdgeLimits } from '../edge/coordinator.js';

export const RUNTIMES = ['node', 'workerd'] as const;
export const WORKLOADS = ['intake', 'relay'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];
export type WorkloadName = (typeof WORKLOADS)[number];

/** Far above any load this machine can make: the limiter runs, never refuses. */
export const BENCH_LIMITS: Partial<EdgeLimits> = {
  ip: { burst: 1_000_000_000, perMinute: 1_000_000_000 },
  key: { burst: 1_000_000_000, perMinute: 1_000_000_000 },
};

const HOST = '127.0.0.1';
/** Upper guesses of what one edge can take, to size the pre-built pools. */
const TX_POOL_PER_SECOND = 8000;
const HEADER_POOL_PER_SECOND = 8000;
const TX_SENDERS = 1024;

interface Args {
  seconds: number;
  warmup: number;
  connections: number;
  runtimes: RuntimeName[];
  workloads: WorkloadName[];
  batch: number;
  txs: number;
  headersPerSector: number;
  senders: number;
  profile: string | null;
  json: boolean;
}

function usage(problem?: string): never {
  const text =
    'usage: npm run bench:edge [-- --seconds N (10)] [--warmup N (2)] [--connections N (10)]\n' +
    '         [--runtimes node,workerd] [--workloads intake,relay] [--batch N (1 header per frame)]\n' +
    '         [--txs N] [--headers N (per sector)] [--senders N (1024)] [--profile DIR (Node edge CPU profile)] [--json]';
  return exitWithUsage(text, problem);
}

/** Prints `text` and exits: 2 with `problem` on stderr first, 0 for --help. */
export function exitWithUsage(text: string, problem?: string): never {
  if (problem) {
    console.error(`${problem}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

export function parseArgs(argv: string[]): Args {
  const a: Partial<Args> & { json: boolean } = { json: false };
  const list = <T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T[] => {
    const items = (v ?? '').split(',').filter((x) => x !== '');
    if (items.length === 0 || items.some((x) => !allowed.includes(x as T))) usage(`${name} takes a comma list of ${allowed.join(', ')}`);
    return [...new Set(items)] as T[];
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const num = (min: number) => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < min) usage(`${k} takes an integer ≥ ${min}`);
      return v;
    };
    if (k === '--seconds') a.seconds = num(1);
    else if (k === '--warmup') a.warmup = num(0);
    else if (k === '--connections') a.connections = num(1);
    else if (k === '--runtimes') a.runtimes = list(k, argv[++i], RUNTIMES);
    else if (k === '--workloads') a.workloads = list(k, argv[++i], WORKLOADS);
    else if (k === '--batch') a.batch = num(1);
    else if (k === '--txs') a.txs = num(1);
    else if (k === '--headers') a.headersPerSector = num(1);
    else if (k === '--senders') a.senders = num(1);
    else if (k === '--profile') a.profile = argv[++i] ?? usage('--profile takes a folder');
    else if (k === '--json') a.json = true;
    else if (k === '--help' || k === '-h') usage();
    else usage(`unknown option ${k}`);
  }
  const seconds = a.seconds ?? 10;
  const warmup = a.warmup ?? 2;
  const batch = a.batch ?? 1;
  return {
    seconds,
    warmup,
    connections: a.connections ?? 10,
    runtimes: a.runtimes ?? [...RUNTIMES],
    workloads: a.workloads ?? [...WORKLOADS],
    batch,
    txs: a.txs ?? TX_POOL_PER_SECOND * (seconds + warmup),
    headersPerSector: a.headersPerSector ?? Math.ceil((HEADER_POOL_PER_SECOND * (seconds + warmup)) / devnetSpec().sectors.length),
    senders: a.senders ?? TX_SENDERS,
    profile: a.profile ?? null,
    json: a.json,
  };
}

// ---------------------------------------------------------------------------
// What is sent: the spec, MAIN txs, mined headers.

/**
 * The devnet with genesis bits at the pow limit (a couple of hashes a block)
 * and genesis far enough back that `headersPerSector` blocks on schedule end
 * a minute ago: ASERT keeps their bits at genesis, and none is from the future.
 */
export function benchSpec(headersPerSector: number, nowMs = Date.now()): NetworkSpec {
  const base = devnetSpec(0);
  const spanMs = Math.max(...base.sectors.map((s) => s.blockTimeMs)) * (headersPerSector + 1) + 60_000;
  const d = devnetSpec(Math.floor((nowMs - spanMs) / 1000) * 1000);
  return { ...d, sectors: d.sectors.map((s) => ({ ...s, genesisBits: s.powLimitBits })) };
}

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * `count` distinct signed MAIN transfers as request bodies `{"tx":"<hex>"}`,
 * from `senders` keys with increasing nonces. Signed with node:crypto
 * (ed25519 signatures are deterministic, so they equal core's `signTx`; the
 * first tx is checked against it).
 */
export function mainTxBodies(spec: NetworkSpec, count: number, senders = TX_SENDERS): string[] {
  const nid = computeNetworkId(spec);
  const keys = Array.from({ length: Math.min(senders, count) }, (_, i) => {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i + 1);
    seed[31] = 0x5a;
    return { pair: keyPairFromSeed(seed), openssl: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }) as KeyObject };
  });
  const to = new Uint8Array(20).fill(3);
  const out: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const k = keys[i % keys.length]!;
    const unsigned: UnsignedTx = {
      version: 1,
      chain: 0,
      from: k.pair.publicKey,
      nonce: BigInt(Math.floor(i / keys.length)),
      fee: 10n,
      payload: { kind: 'transfer', to, amount: 1000n + BigInt(i % 7) },
    };
    const message = txSigningMessage(nid, txId(unsigned));
    const tx: Tx = { ...unsigned, signature: new Uint8Array(opensslSign(null, message, k.openssl)) };
    if (i === 0) {
      const reference = signTx(unsigned, k.pair.secretKey, nid);
      if (!equalBytes(reference.signature, tx.signature) || !verify(tx.signature, message, tx.from)) throw new Error('node:crypto and core sign differently');
    }
    out[i] = JSON.stringify(mainSubmitBody.write({ tx, raw: encodeTx(tx) }));
  }
  return out;
}

export const MINER = new Uint8Array(20).fill(7);

/**
 * `count` headers of `sector`, each the child of the one before, from `parent`
 * on schedule; `miner` names the coinbase, so two miners fork apart.
 */
export function mineBranch(spec: NetworkSpec, sectorId: number, parent: BlockHeader, count: number, miner = MINER): BlockHeader[] {
  const sector = spec.sectors.find((s) => s.id === sectorId)!;
  const genesis = genesisBlock(spec, sector).header;
  const root = bodyRoot(emptyBody(miner));
  const list: BlockHeader[] = [];
  for (let i = 0; i < count; i++) {
    const height = parent.height + 1;
    let header: BlockHeader = {
      version: 1,
      sectorId,
      height,
      prevHash: blockId(parent),
      bodyRoot: root,
      timeMs: spec.genesisTimeMs + height * sector.blockTimeMs,
      bits: expectedBits(sector, genesis, parent),
      workKind: 'hash',
      nonce: 0n,
    };
    while (!checkHeaderWork(header, sector).ok) header = { ...header, nonce: header.nonce + 1n };
    list.push(header);
    parent = header;
  }
  return list;
}

/** `count` hex headers per sector, each the child of the one before, on schedule from genesis. */
export function mineHeaders(spec: NetworkSpec, count: number): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const sector of spec.sectors) {
    out.set(sector.id, mineBranch(spec, sector.id, genesisBlock(spec, sector).header, count).map((h) => toHex(encodeHeader(h))));
  }
  return out;
}

/**
 * A `fetch` whose requests leave from `localAddress` (another loopback address
 * than 127.0.0.1 makes another client IP for the edge), over keep-alive.
 */
export function fetchFrom(localAddress: string): typeof fetch {
  const agent = new HttpAgent({ keepAlive: true, localAddress });
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const req = httpRequest(new URL(String(input)), { method: init?.method ?? 'GET', headers: init?.headers as Record<string, string>, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), { status: res.statusCode ?? 500 })));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (init?.body) req.write(init.body as string);
      req.end();
    });
}

// ---------------------------------------------------------------------------
// The edge under load, in a child process.

export interface Target {
  url: string;
  /** The edge's process id (for its memory). */
  pid: number;
  stop(): Promise<void>;
}

type ChildMessage = { type: 'ready'; url: string } | { type: 'failed'; message: string };

/** The repository root: the folder above this file that holds wrangler.toml. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'wrangler.toml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('wrangler.toml not found above the benchmark');
    dir = up;
  }
  return dir;
}

/** Runs inside the child: starts the edge of `runtime` from POUW_SPEC / POUW_LIMITS, reports its URL, stops on 'stop'. */
async function serve(runtime: RuntimeName): Promise<void> {
  const send = (m: ChildMessage) => process.send!(m);
  const dir = mkdtempSync(join(tmpdir(), 'pouw-edge-load-'));
  let close: () => Promise<void>;
  try {
    const spec = specFromEnv(process.env);
    if (runtime === 'node') {
      const { startEdge } = await import('../edge/node-server.js');
      const edge = await startEdge({ port: 0, host: HOST, dbPath: join(dir, 'edge.db'), spec, limits: limitsFromEnv(process.env) });
      send({ type: 'ready', url: edge.url });
      close = () => edge.close();
    } else {
      process.env.WRANGLER_HIDE_BANNER = 'true';
      process.env.WRANGLER_SEND_METRICS = 'false';
      process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
      const { unstable_startWorker } = await import('wrangler');
      const worker = await unstable_startWorker({
        config: join(repoRoot(), 'wrangler.toml'),
        bindings: {
          POUW_SPEC: { type: 'plain_text', value: process.env.POUW_SPEC! },
          POUW_LIMITS: { type: 'plain_text', value: process.env.POUW_LIMITS! },
        },
        dev: { server: { hostname: HOST, port: 0 }, inspector: false, persist: join(dir, 'state'), watch: false, logLevel: 'none' },
      });
      await worker.ready;
      send({ type: 'ready', url: (await worker.url).origin });
      close = () => worker.dispose();
    }
  } catch (e) {
    send({ type: 'failed', message: (e as Error).stack ?? String(e) });
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    close()
      .catch(() => undefined)
      .finally(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      });
  };
  process.on('message', (m) => m === 'stop' && stop());
  // The benchmark went away without a word: do not outlive it.
  process.once('disconnect', stop);
}

/** A fresh edge of `runtime` in a child process, with `limits` (default: raised far above the load). */
export async function startTarget(runtime: RuntimeName, spec: NetworkSpec, profileDir: string | null, limits: Partial<EdgeLimits> = BENCH_LIMITS): Promise<Target> {
  const env = { ...process.env, POUW_SPEC: specToJson(spec), POUW_LIMITS: JSON.stringify(limits) };
  const execArgv = runtime === 'node' && profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', runtime], { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${runtime} edge did not start within 120 s`)), 120_000);
    child.once('message', (m: ChildMessage) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve(m.url);
      else reject(new Error(`the ${runtime} edge failed to start: ${m.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${runtime} edge exited with ${code} before it listened`));
    });
  });
  const u = new URL(url);
  if (u.hostname !== HOST) throw new Error(`the edge listens on ${u.hostname}, not ${HOST}`);
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send('stop');
      }),
  };
}

// ---------------------------------------------------------------------------
// Load and measurement.

export interface CaseResult {
  runtime: RuntimeName;
  workload: WorkloadName;
  /** Measured interval, seconds (warm-up excluded). */
  seconds: number;
  connections: number;
  /** Completed requests (intake) or frames (relay) per second, all statuses. */
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  completed: number;
  /** Non-2xx answers plus transport errors and timeouts. */
  errors: number;
  /** Intake: fresh txs (202) and replays (200). Relay: headers stored new / already known, and pushes the sockets received. */
  detail: Record<string, number>;
  /** 1-minute load average when the case started. */
  loadAverage: number;
}

export function summarize(h: RecordableHistogram): { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } {
  // Recorded in microseconds.
  const ms = (us: number) => Math.round(us) / 1000;
  return { p50Ms: ms(h.percentile(50)), p90Ms: ms(h.percentile(90)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
}

/** MAIN intake with autocannon: each request takes the next body of the pool. */
async function runIntake(url: string, bodies: string[], args: Args): Promise<Omit<CaseResult, 'runtime' | 'loadAverage'>> {
  let next = 0;
  const latency = createHistogram();
  const status = new Map<number, number>();
  // Without a callback, autocannon returns its tracker (an EventEmitter) that is also a promise of the result.
  const instance = autocannon({
    url,
    connections: args.connections,
    duration: args.seconds,
    ...(args.warmup > 0 ? { warmup: { connections: args.connections, duration: args.warmup } } : {}),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: ROUTES['main-submit'].path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length]! }),
      },
    ],
  }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  // Only the measured run's tracker emits here; the warm-up has its own.
  instance.on('response', (_client: unknown, code: number, _bytes: number, ms: number) => {
    status.set(code, (status.get(code) ?? 0) + 1);
    latency.record(Math.max(1, Math.round(ms * 1000)));
  });
  const r = await instance;
  let completed = 0;
  for (const n of status.values()) completed += n;
  const fresh = status.get(202) ?? 0;
  const replays = status.get(200) ?? 0;
  return {
    workload: 'intake',
    seconds: r.duration,
    connections: args.connections,
    requestsPerSecond: completed / r.duration,
    ...summarize(latency),
    completed,
    errors: completed - fresh - replays + r.errors + r.timeouts,
    detail: { fresh, replays, ...Object.fromEntries([...status].filter(([c]) => c !== 200 && c !== 202).map(([c, n]) => [`status${c}`, n])) },
  };
}

interface Reply {
  status: number;
  body: { accepted?: { status: string }[] };
}

/** A node's socket of one sector: frames out, replies matched by id, pushes counted. */
export class NodeSocket {
  private readonly waiting = new Map<number, (r: Reply) => void>();
  pushes = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      // Pushes ({"type":"headers",...}) are only counted; replies ({"type":"reply",...}, as the
      // edge serializes them) are parsed.
      if (data[9] !== 0x72 /* the r of "reply" */) {
        this.pushes++;
        return;
      }
      const m = JSON.parse(data.toString()) as { id: number } & Reply;
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
  }

  /** Opens a node socket of `sectorId` with the key of `seed`; `from` is the local address to leave from. */
  static async open(url: string, nid: Uint8Array, sectorId: number, seed: number | Uint8Array, from?: string): Promise<NodeSocket> {
    const key = keyPairFromSeed(typeof seed === 'number' ? new Uint8Array(32).fill(seed) : seed);
    const api = new EdgeApi({ url, timeoutMs: 15_000, node: { key, networkId: nid }, ...(from ? { fetch: fetchFrom(from) } : {}) });
    const socketUrl = await api.socketUrl(sectorId);
    if (!socketUrl.ok) throw new Error(`challenge refused: ${socketUrl.status} ${socketUrl.code}`);
    const ws = new WebSocket(socketUrl.value, { maxPayload: 16 << 20, ...(from ? { localAddress: from } : {}) });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no welcome within 15 s')), 15_000);
      ws.once('message', (data) => {
        clearTimeout(timer);
        const m = JSON.parse(String(data)) as { type: string };
        if (m.type === 'welcome') resolve();
        else reject(new Error(`expected a welcome, got ${m.type}`));
      });
      ws.once('unexpected-response', (_req, r) => reject(new Error(`socket refused with ${r.statusCode}`)));
      ws.once('error', reject);
    });
    return new NodeSocket(ws);
  }

  send(id: number, frame: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no reply to frame ${id} within 10 s`));
      }, 10_000);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.ws.send(frame);
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Header relay over node sockets: one frame in flight per sector, its sockets taking turns. */
async function runRelay(url: string, spec: NetworkSpec, headers: Map<number, string[]>, args: Args): Promise<Omit<CaseResult, 'runtime' | 'loadAverage'>> {
  const nid = computeNetworkId(spec);
  const sectorIds = spec.sectors.map((s) => s.id);
  const sockets = await Promise.all(
    Array.from({ length: args.connections }, (_, i) => NodeSocket.open(url, nid, sectorIds[i % sectorIds.length]!, 1 + (i % 250))),
  );
  const bySector = new Map<number, NodeSocket[]>();
  sockets.forEach((s, i) => {
    const id = sectorIds[i % sectorIds.length]!;
    bySector.set(id, [...(bySector.get(id) ?? []), s]);
  });
  const latency = createHistogram();
  let measuring = false;
  let frames = 0;
  let errors = 0;
  let fresh = 0;
  let known = 0;
  let exhausted = 0;
  let frameId = 0;
  let stop = false;
  const loop = async (sectorId: number, own: NodeSocket[]) => {
    const list = headers.get(sectorId)!;
    let at = 0;
    for (let turn = 0; !stop; turn++) {
      if (at + args.batch > list.length) {
        exhausted++;
        return;
      }
      const batch = list.slice(at, at + args.batch);
      at += args.batch;
      const id = ++frameId;
      const frame = JSON.stringify({ type: 'headers', id, headers: batch } satisfies NodeFrame);
      const counted = measuring;
      const t0 = performance.now();
      const r = await own[turn % own.length]!.send(id, frame);
      if (!counted || !measuring) continue;
      latency.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      frames++;
      if (r.status !== 200) {
        errors++;
        continue;
      }
      for (const a of r.body.accepted ?? []) a.status === 'new' ? fresh++ : known++;
    }
  };
  const loops = [...bySector].map(([id, own]) => loop(id, own));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(args.warmup * 1000);
  const pushesBefore = sockets.reduce((n, s) => n + s.pushes, 0);
  measuring = true;
  const t0 = performance.now();
  await sleep(args.seconds * 1000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const pushes = sockets.reduce((n, s) => n + s.pushes, 0) - pushesBefore;
  stop = true;
  await Promise.all(loops);
  for (const s of sockets) s.close();
  return {
    workload: 'relay',
    seconds,
    connections: args.connections,
    requestsPerSecond: frames / seconds,
    ...summarize(latency),
    completed: frames,
    errors,
    detail: { headersPerFrame: args.batch, headersNew: fresh, headersKnown: known, headersPerSecond: (fresh + known) / seconds, pushes, sectorsOutOfHeaders: exhausted },
  };
}

// ---------------------------------------------------------------------------

function table(results: CaseResult[]): string {
  const rows = [
    ['runtime', 'workload', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors/non-2xx', 'notes'],
    ...results.map((r) => [
      r.runtime,
      r.workload === 'intake' ? 'MAIN tx intake (HTTP)' : `header relay (WS, ${r.detail.headersPerFrame}/frame)`,
      Math.round(r.requestsPerSecond).toLocaleString('en-US'),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      r.maxMs.toFixed(1),
      String(r.errors),
      r.workload === 'intake'
        ? `${r.detail.fresh} new, ${r.detail.replays} replays`
        : `${Math.round(r.detail.headersPerSecond!)} headers/s, ${Math.round(r.detail.pushes! / r.seconds)} pushes/s${r.detail.sectorsOutOfHeaders ? `, ${r.detail.sectorsOutOfHeaders} sector(s) ran out of headers` : ''}`,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const right = new Set([2, 3, 4, 5, 6]);
  return rows.map((r) => r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const loadAtStart = loadavg()[0]!;
  const needHeaders = args.workloads.includes('relay');
  const spec = benchSpec(needHeaders ? args.headersPerSector : 0);
  log(`building ${args.workloads.includes('intake') ? `${args.txs} MAIN txs` : 'no txs'}${needHeaders ? ` and ${args.headersPerSector} headers per sector` : ''}`);
  const t = performance.now();
  const bodies = args.workloads.includes('intake') ? mainTxBodies(spec, args.txs, args.senders) : [];
  const headers = needHeaders ? mineHeaders(spec, args.headersPerSector) : new Map<number, string[]>();
  log(`built in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const results: CaseResult[] = [];
  for (const runtime of args.runtimes) {
    for (const workload of args.workloads) {
      log(`${runtime} ${workload}: starting a fresh edge`);
      const target = await startTarget(runtime, spec, args.profile);
      try {
        const loadAverage = loadavg()[0]!;
        log(`${runtime} ${workload}: ${args.warmup} s warm-up, ${args.seconds} s measured, ${args.connections} connections (1-min load ${loadAverage.toFixed(2)})`);
        const r = workload === 'intake' ? await runIntake(target.url, bodies, args) : await runRelay(target.url, spec, headers, args);
        results.push({ runtime, loadAverage, ...r });
      } finally {
        await target.stop();
      }
    }
  }

  const command =
    `npm run bench:edge -- --seconds ${args.seconds} --warmup ${args.warmup} --connections ${args.connections}` +
    ` --runtimes ${args.runtimes.join(',')} --workloads ${args.workloads.join(',')}${args.batch !== 1 ? ` --batch ${args.batch}` : ''}`;
  const machine = { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageAtStart: loadAtStart };
  if (args.json) {
    console.log(JSON.stringify({ machine, command, limits: BENCH_LIMITS, txs: bodies.length, senders: args.senders, headersPerSector: args.headersPerSector, results }, null, 2));
    return;
  }
  console.log(`edge load, ${machine.cpus} CPUs (${machine.model}), ${machine.node}, 1-min load at start ${loadAtStart.toFixed(2)}`);
  console.log(`${args.connections} connections, ${args.warmup} s warm-up + ${args.seconds} s measured per case; rate limits raised (${JSON.stringify(BENCH_LIMITS.ip)} per IP and per key)`);
  console.log(table(results));
}

const entry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (entry) {
  const at = process.argv.indexOf('--serve');
  const run = at >= 0 ? serve(process.argv[at + 1] as RuntimeName) : main();
  run.catch((e: Error) => {
    console.error(`error: ${e.stack ?? e.message}`);
    process.exit(1);
  });
}
