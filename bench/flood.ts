/**
 * Flood benchmark: one attacker against one target beside an honest client,
 * each attack side by side with the same run without it (`quiet`).
 *
 * Edge attacks: the edge runs in a child process (Node runtime, its default
 * limits: the limits are part of what is measured). The honest client submits
 * distinct signed MAIN txs open-loop at `--rate` per second from 127.0.0.1
 * and records each answer's latency; the attacker leaves from 127.0.0.2,
 * another client IP on the same loopback. Every case gets a fresh edge that
 * first takes a 64-block honest chain per sector, so side branches are side
 * branches.
 *   slow-reader  8 node sockets that never read, while a ninth relays valid
 *                headers of their sector, so every header is pushed to them;
 *                a socket closed by the send budget is reopened.
 *   header-spam  side branches of equal or lower work off the honest tip,
 *                4 headers each, from fresh keys, as fast as the edge replies.
 *   frame-flood  pings and garbage frames on a node socket, as fast as the
 *                socket drains; a closed socket is reopened.
 *   key-minting  16 connections asking for challenges, each with a fresh key.
 *   auth-replay  one captured signed request (a socket ticket) replayed and
 *                re-bodied on 16 connections.
 * Node attack: a fresh cpu-edge node mining on one thread (`pouw node start
 * --mine`) in its own process; the honest client polls its local status.
 *   orphan-flood blocks of about 400 KB (2,000 txs) whose parent nobody has,
 *                at the easiest bits, over P2P as fast as the socket drains,
 *                reconnecting when dropped.
 *
 * The honest client runs in its own process; the attacker in this one.
 * Per case: the target's resident memory growth over the measured interval
 * (peak minus the value when the attack starts, sampled every 50 ms), the
 * honest p50/p99 latency and throughput (answered per second over what was
 * offered), for the node its miner's hash rate over the last 10 s, and what
 * the attacker got (its answers by status).
 *
 *   npm run bench:flood [-- --seconds 8 --rate 40 --attacks slow-reader,... --json]
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram, performance } from 'node:perf_hooks';
import type { IncomingMessage } from 'node:http';
import { fork, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { bodyRoot, emptyBody, encodeBlock } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import { genesisBlock, networkId as computeNetworkId } from '../core/genesis.js';
import { blockId, encodeHeader, type BlockHeader } from '../core/header.js';
import { addressOf, keyPairFromSeed } from '../core/keys.js';
import { signTx } from '../core/tx.js';
import { checkHeaderWork } from '../core/validate.js';
import { encodeMessage, WIRE_VERSION } from '../core/wire.js';
import { DEFAULT_LIMITS, devnetSpec, type NetworkSpec } from '../core/params.js';
import { EdgeApi } from '../api/client.js';
import { AUTH_HEADERS } from '../api/auth.js';
import { ROUTES } from '../api/routes.js';
import { benchSpec, exitWithUsage, fetchFrom, repoRoot, mainTxBodies, mineBranch, NodeSocket, startTarget, summarize, type Target } from './edge-load.js';

export const ATTACKS = ['slow-reader', 'header-spam', 'frame-flood', 'key-minting', 'auth-replay', 'orphan-flood'] as const;
/** The attacks whose target is a mining sector node, not the edge. */
const NODE_ATTACKS = ['orphan-flood'] as const;
type NodeAttack = (typeof NODE_ATTACKS)[number];
type EdgeAttack = Exclude<AttackName, NodeAttack>;
const isNodeAttack = (a: AttackName): a is NodeAttack => (NODE_ATTACKS as readonly AttackName[]).includes(a);
export type AttackName = (typeof ATTACKS)[number];

const HONEST = '127.0.0.1';
const ATTACKER = '127.0.0.2';
/** Honest blocks per sector every case starts from. */
const CHAIN = 64;
/** Headers the slow reader's relay socket may push per case, per frame. */
const RELAY_HEADERS = 6000;
const RELAY_BATCH = 16;
/** Side branches pre-mined for the spam. */
const SPAM_BRANCHES = 1500;
const SPAM_LENGTH = 4;

/** The targets the issue set: RSS growth per attack, honest p99, honest throughput retained. */
export const TARGETS = { rssGrowthMiB: 64, honestP99Ms: 250, throughputRetained: 0.8 };

interface Args {
  seconds: number;
  rate: number;
  attacks: AttackName[];
  json: boolean;
}

function usage(problem?: string): never {
  return exitWithUsage(`usage: npm run bench:flood [-- --seconds N (8)] [--rate N (honest MAIN txs/s, 40)] [--attacks ${ATTACKS.join(',')}] [--json]`, problem);
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 8, rate: 40, attacks: [...ATTACKS], json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const num = (min: number, max: number) => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < min || v > max) usage(`${k} takes an integer within ${min}..${max}`);
      return v;
    };
    if (k === '--seconds') a.seconds = num(2, 600);
    else if (k === '--rate') a.rate = num(1, 1000);
    else if (k === '--attacks') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      if (!list.length || list.some((x) => !ATTACKS.includes(x as AttackName))) usage(`--attacks takes a comma list of ${ATTACKS.join(', ')}`);
      a.attacks = [...new Set(list)] as AttackName[];
    } else if (k === '--json') a.json = true;
    else if (k === '--help' || k === '-h') usage();
    else usage(`unknown option ${k}`);
  }
  return a;
}

// ---------------------------------------------------------------------------
// Measurement.

/** Resident set of a process in bytes (Linux /proc), 0 where unreadable. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

type Tally = Record<string, number>;
const count = (tally: Tally, key: string, n = 1) => {
  tally[key] = (tally[key] ?? 0) + n;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Honest {
  offered: number;
  accepted: number;
  other: Tally;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Open-loop requests at `rate`/s for `seconds` from the honest address: MAIN
 * submissions to an edge (`bodies`, 202 counts), or a node's status (no
 * bodies: GET /v1/status, 200 counts).
 */
async function honestLoad(url: string, bodies: string[] | null, rate: number, seconds: number): Promise<Honest> {
  const agent = new HttpAgent({ keepAlive: true, localAddress: HONEST, maxSockets: 64 });
  const latency = createHistogram();
  const other: Tally = {};
  let accepted = 0;
  let offered = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  const post = (body: string) =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = bodies
        ? httpRequest(`${url}${ROUTES['main-submit'].path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, answered)
        : httpRequest(`${url}/v1/status`, { method: 'GET', agent, timeout: 10_000 }, answered);
      function answered(res: IncomingMessage) {
        res.resume();
        res.on('end', () => {
          latency.record(Math.max(1, Math.round((performance.now() - sent) * 1000)));
          if (res.statusCode === (bodies ? 202 : 200)) accepted++;
          else count(other, String(res.statusCode));
          resolve();
        });
      }
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        count(other, e.message === 'timeout' ? 'timeout' : 'error');
        resolve();
      });
      req.end(body);
    });
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (offered < due && (!bodies || offered < bodies.length)) {
      pending.push(post(bodies?.[offered] ?? ''));
      offered++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(pending);
  agent.destroy();
  return { offered, accepted, other, ...summarize(latency) };
}

/**
 * The honest load in its own process, so its latencies are the edge's and not
 * the attacker's event loop (both would share this process otherwise).
 */
function honestProcess(url: string, bodies: string[] | null, rate: number, seconds: number): Promise<Honest> {
  const child = fork(fileURLToPath(import.meta.url), ['--honest'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: Honest) => resolve(m));
    child.once('exit', (code) => reject(new Error(`the honest client exited with ${code} before it reported`)));
    child.send({ url, bodies, rate, seconds });
  });
}

/** Runs inside the honest child: one load, one report. */
function serveHonest(): void {
  process.once('message', (m: { url: string; bodies: string[] | null; rate: number; seconds: number }) => {
    honestLoad(m.url, m.bodies, m.rate, m.seconds).then(
      (r) => process.send!(r, () => process.exit(0)),
      (e: Error) => {
        console.error(`honest client: ${e.stack ?? e.message}`);
        process.exit(1);
      },
    );
  });
}

// ---------------------------------------------------------------------------
// Attackers: each runs until `stop()` and reports what it got.

interface Attacker {
  stop(): Promise<Tally>;
}

/** Starts an attacker's loops; they tally what they got and end once `stopping()`; `stop` waits for them. */
function attacker(start: (tally: Tally, stopping: () => boolean) => Promise<unknown>[], after?: () => void): Attacker {
  const tally: Tally = {};
  let stop = false;
  const runs = start(tally, () => stop);
  return {
    async stop() {
      stop = true;
      await Promise.all(runs);
      after?.();
      return tally;
    },
  };
}

/** Resolves when `ws` closes, tallying its close code. */
const closed = (ws: WebSocket, tally: Tally) =>
  new Promise<void>((resolve) =>
    ws.once('close', (code) => {
      count(tally, `closed-${code}`);
      resolve();
    }),
  );


interface Context {
  url: string;
  spec: NetworkSpec;
  nid: Uint8Array;
  /** Valid headers extending the honest tip of the first sector, as hex. */
  relay: string[];
  /** Side branches off the first sector's honest chain, as hex. */
  spam: string[][];
}

const freshSeed = () => new Uint8Array(randomBytes(32));

/** Opens a node socket from the attacker's address, or tallies why it could not. */
async function attackerSocket(c: Context, tally: Tally): Promise<NodeSocket | null> {
  try {
    return await NodeSocket.open(c.url, c.nid, c.spec.sectors[0]!.id, freshSeed(), ATTACKER);
  } catch (e) {
    count(tally, `open-refused: ${(e as Error).message.slice(0, 60)}`);
    await sleep(200);
    return null;
  }
}

function slowReader(c: Context): Attacker {
  return attacker((tally, stopping) => {
    const reader = async () => {
      while (!stopping()) {
        const s = await attackerSocket(c, tally);
        if (!s) continue;
        // Never read: the kernel buffers fill, then the edge's send queue does.
        (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
        count(tally, 'readers-opened');
        const poll = setInterval(() => stopping() && s.ws.terminate(), 100);
        await closed(s.ws, tally);
        clearInterval(poll);
      }
    };
    const relay = async () => {
      const s = await attackerSocket(c, tally);
      if (!s) return;
      for (let at = 0, id = 1; !stopping() && at < c.relay.length; at += RELAY_BATCH, id++) {
        const r = await s.send(id, JSON.stringify({ type: 'headers', id, headers: c.relay.slice(at, at + RELAY_BATCH) })).catch(() => ({ status: 0 }));
        count(tally, `relay-${r.status}`);
      }
      s.close();
    };
    return [...Array.from({ length: 8 }, reader), relay()];
  });
}

function headerSpam(c: Context): Attacker {
  let next = 0; // shared by both loops: every branch is sent once
  return attacker((tally, stopping) => {
    const run = async () => {
      while (!stopping() && next < c.spam.length) {
        const s = await attackerSocket(c, tally);
        if (!s) continue;
        // One key per 100 branches: fresh keys do not buy a fresh side-branch budget.
        for (let n = 0; n < 100 && !stopping() && next < c.spam.length; n++) {
          const branch = next++;
          const r = await s.send(branch + 1, JSON.stringify({ type: 'headers', id: branch + 1, headers: c.spam[branch] })).catch(() => ({ status: 0, body: {} }));
          count(tally, `status-${r.status}`);
          const body = r.body as { error?: { code?: string }; accepted?: { status: string }[] };
          if (body.error?.code) count(tally, body.error.code);
          for (const a of body.accepted ?? []) count(tally, `header-${a.status}`);
        }
        s.close();
      }
    };
    return [run(), run()];
  });
}

function frameFlood(c: Context): Attacker {
  const garbage = randomBytes(512).toString('base64');
  return attacker((tally, stopping) => {
    const run = async () => {
      while (!stopping()) {
        const s = await attackerSocket(c, tally);
        if (!s) continue;
        const ws = s.ws;
        const pump = () => {
          if (stopping()) return ws.terminate();
          if (ws.readyState !== WebSocket.OPEN) return;
          // Keep our own queue short: the flood is what reaches the edge.
          if (ws.bufferedAmount < 1 << 16) {
            for (let i = 0; i < 32; i++) {
              ws.ping();
              ws.send(i % 2 ? garbage : '{"type":"nonsense"}');
            }
            count(tally, 'frames', 64);
          }
          setImmediate(pump);
        };
        pump();
        await closed(ws, tally);
      }
    };
    return [run()];
  });
}

/** `connections` closed loops of one request each from the attacker's address. */
function requestLoops(url: string, connections: number, next: () => { path: string; headers: Record<string, string>; body: string }): Attacker {
  const agent = new HttpAgent({ keepAlive: true, localAddress: ATTACKER, maxSockets: connections });
  return attacker(
    (tally, stopping) => {
      const loop = async () => {
        while (!stopping()) {
          const { path, headers, body } = next();
          await new Promise<void>((resolve) => {
            const req = httpRequest(`${url}${path}`, { method: 'POST', agent, headers }, (res) => {
              res.resume();
              res.on('end', () => {
                count(tally, `status-${res.statusCode}`);
                resolve();
              });
            });
            req.on('error', () => {
              count(tally, 'error');
              resolve();
            });
            req.end(body);
          });
        }
      };
      return Array.from({ length: connections }, loop);
    },
    () => agent.destroy(),
  );
}

function keyMinting(c: Context): Attacker {
  return requestLoops(c.url, 16, () => ({ path: ROUTES.challenge.path, headers: { [AUTH_HEADERS.key]: toHex(keyPairFromSeed(freshSeed()).publicKey) }, body: '' }));
}

async function authReplay(c: Context): Promise<Attacker> {
  const key = keyPairFromSeed(freshSeed());
  const sector = c.spec.sectors[0]!.id;
  const path = ROUTES['socket-ticket'].path.replace(':sector', String(sector));
  const api = new EdgeApi({ url: c.url, node: { key, networkId: c.nid }, fetch: fetchFrom(ATTACKER) });
  const auth = await api.authorize({ method: 'POST', path, body: '', edge: new URL(c.url).host });
  if (!auth.ok) throw new Error(`auth-replay: no challenge (${auth.code})`);
  const headers = { [AUTH_HEADERS.key]: auth.value.key, [AUTH_HEADERS.challenge]: auth.value.challenge, [AUTH_HEADERS.sig]: auth.value.sig, 'content-type': 'application/json' };
  let n = 0;
  // The first use is the victim's own (it succeeds); every later one is a replay, half of them re-bodied.
  return requestLoops(c.url, 16, () => ({ path, headers, body: n++ % 2 ? '{"x":1}' : '' }));
}

// ---------------------------------------------------------------------------
// The node target: a mining cpu-edge node in its own process.

interface NodeTarget {
  pid: number;
  api: string;
  p2p: string;
  spec: NetworkSpec;
  stop(): Promise<void>;
}

async function startMiningNode(): Promise<NodeTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-flood-node-'));
  const genesisTimeMs = Date.now() - 60_000;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POUW_')));
  const args = ['node', 'start', '--sector', 'cpu-edge', '--mine', '--data', dir, '--genesis-time', String(genesisTimeMs), '--verify-threads', '0', '--json'];
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'pouw.js'), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<{ api: string; p2p: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const e = JSON.parse(line) as { type: string; api: string; p2p: string };
      if (e.type === 'ready') resolve(e);
    });
    child.once('exit', (code) => reject(new Error(`the node exited with ${code} before it was ready`)));
  });
  return {
    pid: child.pid!,
    ...ready,
    spec: devnetSpec(genesisTimeMs),
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(timer);
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

async function nodeHashRate(api: string): Promise<number> {
  const res = await fetch(`${api}/v1/status`);
  const status = (await res.json()) as { mining?: { hashesPerSecond10s?: number } };
  return status.mining?.hashesPerSecond10s ?? 0;
}

/**
 * Blocks whose parent nobody has, at the easiest bits, each carrying 2,000
 * txs (about 400 KB): only their proof of work holds. Sent over P2P from the
 * attacker's address as fast as the socket drains, reconnecting when dropped.
 */
function orphanFlood(t: NodeTarget): Attacker {
  const sector = t.spec.sectors.find((x) => x.slug === 'cpu-edge')!;
  const nid = computeNetworkId(t.spec);
  const genesisId = blockId(genesisBlock(t.spec, sector).header);
  const key = keyPairFromSeed(new Uint8Array(32).fill(42));
  const to = addressOf(key.publicKey);
  const one = signTx({ version: 1, chain: sector.id, from: key.publicKey, nonce: 0n, fee: 1n, payload: { kind: 'transfer', to, amount: 1n } }, key.secretKey, nid);
  const body = { ...emptyBody(to), txs: Array.from({ length: 2000 }, (_, i) => ({ ...one, nonce: BigInt(i) })) };
  const root = bodyRoot(body);
  const frames = Array.from({ length: 64 }, (_, i) => {
    let header: BlockHeader = { version: 1, sectorId: sector.id, height: 1000 + i, prevHash: new Uint8Array(randomBytes(32)), bodyRoot: root, timeMs: Date.now(), bits: sector.powLimitBits, workKind: 'hash', nonce: 0n };
    while (!checkHeaderWork(header, sector).ok) header = { ...header, nonce: header.nonce + 1n };
    return encodeMessage({ type: 'block', block: encodeBlock({ header, body, workProof: new Uint8Array(0) }, DEFAULT_LIMITS) });
  });
  const hello = encodeMessage({ type: 'hello', version: WIRE_VERSION, networkId: nid, sectorId: sector.id, genesisId, tipHeight: 0, tipId: genesisId, listen: '' });
  return attacker((tally, stopping) => {
    const run = async () => {
      while (!stopping()) {
        const ws = new WebSocket(t.p2p, { localAddress: ATTACKER });
        ws.once('error', () => count(tally, 'refused'));
        ws.once('open', () => {
          count(tally, 'connections');
          ws.send(hello);
          let sent = 0;
          const pump = () => {
            if (stopping()) return ws.terminate();
            if (ws.readyState !== WebSocket.OPEN) return;
            if (ws.bufferedAmount < 1 << 20) {
              ws.send(frames[sent++ % frames.length]!);
              count(tally, 'blocks');
            }
            setTimeout(pump, ws.bufferedAmount < 1 << 20 ? 0 : 5);
          };
          pump();
        });
        await closed(ws, tally);
        await sleep(100);
      }
    };
    return [run()];
  });
}

async function startAttack(name: EdgeAttack, c: Context): Promise<Attacker> {
  switch (name) {
    case 'slow-reader':
      return slowReader(c);
    case 'header-spam':
      return headerSpam(c);
    case 'frame-flood':
      return frameFlood(c);
    case 'key-minting':
      return keyMinting(c);
    case 'auth-replay':
      return authReplay(c);
  }
}

// ---------------------------------------------------------------------------

export interface FloodCase {
  /** What was attacked: the edge, or a mining sector node. */
  target: 'edge' | 'node';
  attack: AttackName | 'quiet';
  seconds: number;
  rssStartMiB: number;
  rssGrowthMiB: number;
  honest: Honest;
  /** accepted per second over the quiet run's (of the same target). */
  throughputRetained?: number;
  /** Node target: its miner's hash rate over the last 10 s, and that over the quiet run's. */
  hashesPerSecond?: number;
  miningRetained?: number;
  attacker: Tally;
  /** Every target met (RSS growth, honest p99, throughput retained). */
  pass?: boolean;
}

/** Relays the honest chain of every sector from a key of the honest address, so each case starts past genesis. */
async function seedChains(target: Target, spec: NetworkSpec, nid: Uint8Array, chains: Map<number, BlockHeader[]>): Promise<void> {
  for (const sector of spec.sectors) {
    const s = await NodeSocket.open(target.url, nid, sector.id, 200 + sector.id, HONEST);
    const hex = chains.get(sector.id)!.map((h) => toHex(encodeHeader(h)));
    for (let at = 0, id = 1; at < hex.length; at += RELAY_BATCH, id++) {
      const r = await s.send(id, JSON.stringify({ type: 'headers', id, headers: hex.slice(at, at + RELAY_BATCH) }));
      if (r.status !== 200) throw new Error(`seeding sector ${sector.slug}: ${r.status}`);
    }
    s.close();
  }
}

const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

/**
 * Runs `load` beside the attacker `start` gives (none for a quiet run) while
 * sampling the memory of the target process `pid`; growth is from the start.
 */
async function underAttack<T>(pid: number, start: () => Attacker | null | Promise<Attacker | null>, load: () => Promise<T>) {
  const rssStart = rssOf(pid);
  let peak = rssStart;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  try {
    const flood = await start();
    const result = await load();
    const attacker = flood ? await flood.stop() : {};
    peak = Math.max(peak, rssOf(pid));
    return { rssStartMiB: mib(rssStart), rssGrowthMiB: mib(peak - rssStart), result, attacker };
  } finally {
    clearInterval(sampler);
  }
}

async function runCase(attack: EdgeAttack | 'quiet', args: Args, spec: NetworkSpec, c: Omit<Context, 'url'>, chains: Map<number, BlockHeader[]>, bodies: string[]): Promise<FloodCase> {
  const target = await startTarget('node', spec, null, {});
  try {
    await seedChains(target, spec, c.nid, chains);
    await sleep(500);
    const ctx: Context = { ...c, url: target.url };
    const m = await underAttack(
      target.pid,
      () => (attack === 'quiet' ? null : startAttack(attack, ctx)),
      () => honestProcess(target.url, bodies, args.rate, args.seconds),
    );
    return { target: 'edge', attack, seconds: args.seconds, rssStartMiB: m.rssStartMiB, rssGrowthMiB: m.rssGrowthMiB, honest: m.result, attacker: m.attacker };
  } finally {
    await target.stop();
  }
}

/** One case against a fresh mining node: its status polled by the honest client, its hash rate read at the end. */
async function runNodeCase(attack: NodeAttack | 'quiet', args: Args): Promise<FloodCase> {
  const target = await startMiningNode();
  try {
    // The miner's 10 s rate must cover the measured interval only.
    const seconds = Math.max(args.seconds, 10);
    await sleep(2000);
    const m = await underAttack(
      target.pid,
      () => (attack === 'quiet' ? null : orphanFlood(target)),
      async () => ({ honest: await honestProcess(target.api, null, args.rate, seconds), hashesPerSecond: await nodeHashRate(target.api) }),
    );
    return { target: 'node', attack, seconds, rssStartMiB: m.rssStartMiB, rssGrowthMiB: m.rssGrowthMiB, ...m.result, attacker: m.attacker };
  } finally {
    await target.stop();
  }
}

function table(cases: FloodCase[]): string {
  const rows = [
    ['target', 'attack', 'RSS +MiB', 'honest p50 ms', 'honest p99 ms', 'served/s', 'retained', 'mining', 'verdict', 'attacker got'],
    ...cases.map((r) => [
      r.target,
      r.attack,
      r.rssGrowthMiB.toFixed(1),
      r.honest.p50Ms.toFixed(1),
      r.honest.p99Ms.toFixed(1),
      (r.honest.accepted / r.seconds).toFixed(1),
      r.throughputRetained === undefined ? '-' : `${Math.round(100 * r.throughputRetained)}%`,
      r.hashesPerSecond === undefined ? '-' : `${(r.hashesPerSecond / 1e6).toFixed(1)} MH/s${r.miningRetained === undefined ? '' : ` (${Math.round(100 * r.miningRetained)}%)`}`,
      r.pass === undefined ? '-' : r.pass ? 'ok' : 'MISSED',
      Object.entries(r.attacker)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const spec = benchSpec(CHAIN + RELAY_HEADERS);
  const nid = computeNetworkId(spec);
  log('mining the honest chains, the relay headers and the spam branches');
  const chains = new Map<number, BlockHeader[]>();
  for (const s of spec.sectors) chains.set(s.id, mineBranch(spec, s.id, genesisBlock(spec, s).header, CHAIN));
  const first = spec.sectors[0]!.id;
  const chain = chains.get(first)!;
  const tip = chain[chain.length - 1]!;
  const relay = mineBranch(spec, first, tip, RELAY_HEADERS).map((h) => toHex(encodeHeader(h)));
  // Side branches forking SPAM_LENGTH below the tip: equal work at best, never heavier.
  const forkAt = chain[chain.length - 1 - SPAM_LENGTH]!;
  const spam = Array.from({ length: SPAM_BRANCHES }, (_, i) => {
    const miner = new Uint8Array(20);
    new DataView(miner.buffer).setUint32(0, i + 1);
    return mineBranch(spec, first, forkAt, SPAM_LENGTH, miner).map((h) => toHex(encodeHeader(h)));
  });
  const bodies = mainTxBodies(spec, Math.ceil(args.rate * args.seconds * 1.2) + 10, 256);
  const c = { spec, nid, relay, spam };
  const cases: FloodCase[] = [];
  const edgeAttacks = args.attacks.filter((a): a is EdgeAttack => !isNodeAttack(a));
  const nodeAttacks = args.attacks.filter(isNodeAttack);
  for (const attack of edgeAttacks.length ? (['quiet', ...edgeAttacks] as const) : []) {
    log(`edge ${attack}: fresh edge, ${args.seconds} s, honest ${args.rate} MAIN txs/s`);
    cases.push(await runCase(attack, args, spec, c, chains, bodies));
  }
  for (const attack of nodeAttacks.length ? (['quiet', ...nodeAttacks] as const) : []) {
    log(`node ${attack}: fresh mining node, honest ${args.rate} status requests/s`);
    cases.push(await runNodeCase(attack, args));
  }
  for (const target of ['edge', 'node'] as const) {
    const quiet = cases.find((r) => r.target === target && r.attack === 'quiet');
    for (const r of cases.filter((x) => x.target === target && x.attack !== 'quiet')) {
      r.throughputRetained = quiet?.honest.accepted ? r.honest.accepted / quiet.honest.accepted : 0;
      if (r.hashesPerSecond !== undefined) r.miningRetained = quiet?.hashesPerSecond ? r.hashesPerSecond / quiet.hashesPerSecond : 0;
      r.pass =
        r.rssGrowthMiB <= TARGETS.rssGrowthMiB &&
        r.honest.p99Ms <= TARGETS.honestP99Ms &&
        r.throughputRetained >= TARGETS.throughputRetained &&
        (r.miningRetained === undefined || r.miningRetained >= TARGETS.throughputRetained);
    }
  }
  const machine = { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version };
  const command = `npm run bench:flood -- --seconds ${args.seconds} --rate ${args.rate} --attacks ${args.attacks.join(',')}`;
  if (args.json) {
    console.log(JSON.stringify({ machine, command, targets: TARGETS, cases }, null, 2));
  } else {
    console.log(
      `flood, ${machine.cpus} CPUs (${machine.model}), ${machine.node}; edge on Node with its default limits, node mining cpu-edge on 1 thread; ` +
        `honest ${args.rate} requests/s open-loop from ${HONEST} (MAIN txs to the edge, status to the node), attacker from ${ATTACKER}`,
    );
    console.log(`targets: target's RSS growth ≤ ${TARGETS.rssGrowthMiB} MiB, honest p99 ≤ ${TARGETS.honestP99Ms} ms, honest throughput and mining rate ≥ ${100 * TARGETS.throughputRetained}% of quiet`);
    console.log(table(cases));
  }
  if (cases.some((r) => r.pass === false)) process.exitCode = 1;
}

const entry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (entry && process.argv.includes('--honest')) serveHonest();
else if (entry) {
  main().catch((e: Error) => {
    console.error(`error: ${e.stack ?? e.message}`);
    process.exit(1);
  });
}
