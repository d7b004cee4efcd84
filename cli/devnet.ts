/**
 * `pouw devnet`: a whole network on one machine, in one command.
 *
 * It starts the edge coordinator in this process (edge/node-server.ts, its
 * SQLite file under the data directory) and, for each of the four default
 * sectors, `--nodes` sector nodes as child processes (`pouw node start
 * --mine --json --edge ...`), the nodes of a sector peering with each other.
 * The cpu-edge sector mines on the WASM kernel (POUW_KERNEL=wasm) to exercise
 * the fallback; the others on the best kernel that loads. Each node relays
 * its headers to the edge and checks the assignments the edge pushes to it
 * (node/edge-client.ts) and folds its own MAIN ledger (node/main-view.ts).
 * The devnet itself runs an economy stream (cli/devnet-stream.ts): sector
 * transfers from the genesis-funded faucet, conversions into MAIN for three
 * stream accounts, and MAIN transfers between them.
 *
 * The view polls each node's local API and the edge's public API once a
 * second: per sector height, hash rate, difficulty, peers; the latest window
 * beacon (`GET /v1/beacon/:window`); MAIN txs submitted, final, void and
 * applied; conversions witnessed and minted with the last batch prices; the
 * stream accounts' MAIN balances and the treasury on the nodes' folds; how
 * many nodes' roots agree with the edge's; and the assignments the nodes
 * took or refused (from their NDJSON events).
 * cli/devnet-view.ts shows it: a table redrawn in place when stderr is a
 * terminal, a line every few seconds otherwise, NDJSON on stdout with `--json`.
 *
 * Everything lives under one directory (default
 * `$XDG_DATA_HOME/pouw/devnet-run`): `devnet.json` (the genesis time, fixed
 * on first run), `edge/edge.db`, `keys/` (the stream accounts' keys),
 * `nodes/<sector>-<n>/` (each node's `--data`) and `logs/`. A rerun
 * on the same directory resumes every chain. SIGINT/SIGTERM/SIGHUP stop the
 * children with SIGINT, wait for them, then close the edge; `--duration`
 * does the same after that many seconds and prints a summary.
 *
 * The stream also submits gemm-i8 tasks (cli/devnet-stream.ts); the view
 * shows per sector how many blocks of this run were found by useful work
 * (matmul) against hashing, and the tasks submitted, final and expired.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { resolve, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { fromHex, toHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { networkId } from '../core/genesis.js';
import { decodeHeader } from '../core/header.js';
import { devnetSpec, type NetworkSpec, type SectorParams } from '../core/params.js';
import { windowOf } from '../core/time.js';
import { EdgeApi } from '../api/client.js';
import { startEdge, type EdgeServer } from '../edge/node-server.js';
import { packageInfo } from '../platform/node/package-info.js';
import { openKey } from './node.js';
import { EconomyStream, type StreamFigures } from './devnet-stream.js';
import { DevnetView, formatWork, type BeaconSeen, type DevnetSnapshot, type DevnetSummary, type SectorRow } from './devnet-view.js';
import { intArg } from './options.js';
import { Output } from './output.js';
import { networkDataDir, processAlive } from './paths.js';

interface DevnetOpts {
  data?: string;
  duration?: number;
  nodes: number;
  threads: number;
  edgePort: number;
  txInterval: number;
  json?: boolean;
}

/** `devnet.json`: what a rerun needs to resume. */
interface DevnetState {
  version: 1;
  network: string;
  genesisTimeMs: number;
  /** The network id of that genesis: a resume with code whose chain format differs would compute another. */
  networkId?: string;
  /** The newest beacon window seen published when the last run stopped. */
  lastBeacon?: number;
  /** Each sector's height when the last run stopped. */
  heights?: Record<string, number>;
}

/** The sector whose nodes mine on the WASM kernel, to exercise the fallback. */
const WASM_SECTOR = 'cpu-edge';
const TICK_MS = 1000;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
/** Node events passed through to the devnet's own NDJSON. */
const FORWARDED = new Set([
  'miner-start',
  'edge-connection',
  'assignment-accepted',
  'assignment-held',
  'assignment-rejected',
  'edge-relay-refused',
  'edge-header-refused',
  'record-reported',
  'conversion-reported',
  'main-window',
  'main-root-mismatch',
  'main-fetch-failed',
  'block-held',
  'block-rejected',
  'miner-failed',
  'task-taken',
  'task-input-refused',
  'stopped',
]);
/** The stream accounts (keys under the devnet's keys/). */
const STREAM_ACCOUNTS = ['devnet-alice', 'devnet-bob', 'devnet-carol'];
/** The account that pays the devnet's compute tasks. */
const SUBMITTER_ACCOUNT = 'devnet-submitter';

/** A wait that does not keep the process alive: it only bounds waits on things that do. */
const sleep = (ms: number) => delay(ms, undefined, { ref: false });

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

/** The state of a data directory, created on first use with genesis "now". */
function loadState(dataDir: string): { state: DevnetState; resumed: boolean } {
  const file = join(dataDir, 'devnet.json');
  if (existsSync(file)) {
    let s: DevnetState;
    try {
      s = JSON.parse(readFileSync(file, 'utf8')) as DevnetState;
    } catch (e) {
      throw new PouwError('devnet-state-corrupt', `${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (s.version !== 1 || !Number.isSafeInteger(s.genesisTimeMs)) {
      throw new PouwError('devnet-state-corrupt', `${file} is not a devnet state file`);
    }
    const id = toHex(networkId(devnetSpec(s.genesisTimeMs)));
    if (s.networkId !== id) {
      throw new PouwError(
        'devnet-state-stale',
        `${dataDir} holds a devnet of another protocol version (its chains cannot be read by this one): remove the directory or pass another --data`,
      );
    }
    return { state: s, resumed: true };
  }
  const genesisTimeMs = Date.now();
  const state: DevnetState = { version: 1, network: 'devnet', genesisTimeMs, networkId: toHex(networkId(devnetSpec(genesisTimeMs))) };
  writeJsonAtomic(file, state);
  return { state, resumed: false };
}

/** Refuses a second devnet on the same directory; the pid file goes away on stop. */
function takeLock(dataDir: string): string {
  const file = join(dataDir, 'devnet.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (processAlive(pid)) throw new PouwError('devnet-running', `a devnet (pid ${pid}) already runs on ${dataDir}; stop it first or pass another --data`);
  }
  writeFileSync(file, `${process.pid}\n`);
  return file;
}

/** The environment of a node process: no POUW_* setting of ours leaks in but the config file and a forced kernel. */
function childEnv(sector: SectorParams): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('POUW_') && k !== 'POUW_CONFIG' && k !== 'POUW_KERNEL') continue;
    env[k] = v;
  }
  if (sector.slug === WASM_SECTOR) env.POUW_KERNEL = 'wasm';
  return env;
}

interface NodeStatusJson {
  tip: { height: number };
  peers: unknown[];
  mining: { hashesPerSecond10s: number; hashesPerSecond60s: number } | null;
  blocks: { hash: number; matmul: number };
}

/** One node process and what the devnet knows of it. */
class DevnetNode {
  readonly name: string;
  readonly dataDir: string;
  child?: ChildProcess;
  api?: string;
  p2p?: string;
  backend?: string;
  height = 0;
  peers = 0;
  hps10s = 0;
  hps60s = 0;
  /** Best-chain blocks by work kind, as the node counts them now and at its first answer this run. */
  work = { hash: 0, matmul: 0 };
  workAtStart?: { hash: number; matmul: number };
  edgeState = 'connecting';
  accepted = 0;
  rejected = 0;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  exited!: Promise<void>;
  stopping = false;

  constructor(
    readonly sector: SectorParams,
    readonly index: number,
    root: string,
  ) {
    this.name = `${sector.slug}-${index}`;
    this.dataDir = join(root, 'nodes', this.name);
  }
}

class Devnet {
  private readonly view: DevnetView;
  private readonly dataDir: string;
  private readonly spec: NetworkSpec;
  private readonly nodes: DevnetNode[] = [];
  private edge?: EdgeServer;
  private api?: EdgeApi;
  private edgeLog?: WriteStream;
  private stream?: EconomyStream;
  private startedMs = 0;
  private readonly beaconAtStart: number;
  private latestBeacon: BeaconSeen | null = null;
  private edgeTips = new Map<number, { height: number; bits: number }>();
  private ticker?: ReturnType<typeof setInterval>;
  private txTimer?: ReturnType<typeof setInterval>;
  private ticking = false;
  private stopRequested?: () => void;
  private readonly stopped: Promise<string>;
  private stopReason = '';
  private unexpectedExits = 0;

  constructor(
    private readonly opts: DevnetOpts,
    private readonly state: DevnetState,
    private readonly resumed: boolean,
    dataDir: string,
  ) {
    this.view = new DevnetView(new Output(Boolean(opts.json)));
    this.dataDir = dataDir;
    this.spec = devnetSpec(state.genesisTimeMs);
    this.stopped = new Promise((r) => (this.stopRequested = () => r(this.stopReason)));
    this.beaconAtStart = state.lastBeacon ?? -1;
    for (const s of this.spec.sectors) for (let i = 1; i <= opts.nodes; i++) this.nodes.push(new DevnetNode(s, i, dataDir));
  }

  private event(type: string, fields: object, text?: string): void {
    this.view.event(type, fields, text);
  }

  requestStop(reason: string): void {
    if (!this.stopReason) this.stopReason = reason;
    this.stopRequested?.();
  }

  async run(): Promise<boolean> {
    const { dataDir, spec } = this;
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
    const users = STREAM_ACCOUNTS.map((name) => ({ name, key: openKey(join(dataDir, 'keys'), name) }));
    this.edgeLog = createWriteStream(join(dataDir, 'logs', 'edge.log'), { flags: 'a' });
    this.edge = await startEdge({
      host: '127.0.0.1',
      port: this.opts.edgePort,
      dbPath: join(dataDir, 'edge', 'edge.db'),
      spec,
      log: (line) => this.edgeLog?.write(`${new Date().toISOString()} ${line}\n`),
    });
    this.event(
      'devnet-start',
      {
        data: dataDir,
        resumed: this.resumed,
        genesisTimeMs: spec.genesisTimeMs,
        edge: this.edge.url,
        network: spec.name,
        networkId: toHex(networkId(spec)),
        sectors: spec.sectors.map((s) => s.slug),
        nodesPerSector: this.opts.nodes,
      },
      `devnet ${this.resumed ? 'resuming' : 'starting'} in ${dataDir}\nedge   ${this.edge.url} (genesis ${new Date(spec.genesisTimeMs).toISOString()})`,
    );
    // Node i of a sector dials nodes 1..i−1 of it, so each wave waits for the one before.
    for (let i = 1; i <= this.opts.nodes; i++) {
      const wave = this.nodes.filter((n) => n.index === i);
      const results = await Promise.allSettled(wave.map((n) => this.startNode(n)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) {
        await this.shutdown();
        throw (failed as PromiseRejectedResult).reason;
      }
    }
    this.startedMs = Date.now();
    this.stream = new EconomyStream(
      spec,
      users,
      () => this.nodes.filter((n) => n.api && !n.exit && n.index === 1).map((n) => ({ sector: n.sector, api: { url: n.api!, cookieFile: join(n.dataDir, n.sector.slug, 'api.cookie') } })),
      this.edgeApi,
      (e) =>
        this.event(e.type, e, e.type === 'main-root-mismatch' || e.type === 'stream-refused' || e.type === 'task-refused' ? `warning: ${e.type} ${String(e.code ?? '')} ${String(e.message ?? '')}` : undefined),
      { name: SUBMITTER_ACCOUNT, key: openKey(join(dataDir, 'keys'), SUBMITTER_ACCOUNT) },
    );
    await this.tick();
    this.event('devnet-ready', { nodes: this.nodes.map((n) => ({ name: n.name, api: n.api, p2p: n.p2p, backend: n.backend, height: n.height })) });
    this.ticker = setInterval(() => void this.tick(), TICK_MS);
    if (this.opts.txInterval > 0) this.txTimer = setInterval(() => void this.stream!.next(), this.opts.txInterval);
    if (this.opts.duration !== undefined) setTimeout(() => this.requestStop('duration'), this.opts.duration * 1000).unref();
    await this.stopped;
    clearInterval(this.ticker);
    clearInterval(this.txTimer);
    while (this.ticking) await sleep(20);
    await this.tick();
    const clean = await this.shutdown();
    this.view.summary(this.summary(clean));
    return clean;
  }

  /** Spawns one node and resolves once it reported `ready`. */
  private startNode(n: DevnetNode): Promise<void> {
    const peers = this.nodes.filter((m) => m.sector === n.sector && m.index < n.index && m.p2p).flatMap((m) => ['--peer', m.p2p!]);
    const args = [
      join(packageInfo().root, 'bin', 'pouw.js'),
      'node',
      'start',
      '--sector',
      n.sector.slug,
      '--mine',
      '--data',
      n.dataDir,
      '--genesis-time',
      String(this.spec.genesisTimeMs),
      '--edge',
      this.edge!.url,
      '--threads',
      String(this.opts.threads),
      // Eight nodes on one machine: one verify worker each, not one per core each.
      '--verify-threads',
      '1',
      '--port',
      '0',
      '--api-port',
      '0',
      ...peers,
      '--json',
    ];
    // Its own process group: a Ctrl-C on the terminal reaches the devnet only, which stops each node once.
    const child = spawn(process.execPath, args, { env: childEnv(n.sector), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    n.child = child;
    const log = createWriteStream(join(this.dataDir, 'logs', `${n.name}.log`), { flags: 'a' });
    child.stderr!.pipe(log);
    n.exited = new Promise((r) =>
      child.once('exit', (code, signal) => {
        n.exit = { code, signal };
        r();
      }),
    );
    return new Promise<void>((resolveReady, rejectReady) => {
      const timer = setTimeout(() => rejectReady(new PouwError('devnet-node-failed', `${n.name} was not ready after ${READY_TIMEOUT_MS / 1000} s (see ${log.path})`)), READY_TIMEOUT_MS);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let e: Record<string, any>;
        try {
          e = JSON.parse(line) as Record<string, any>;
        } catch {
          return;
        }
        if (e.type === 'ready') {
          n.api = String(e.api);
          n.p2p = String(e.p2p);
          n.height = Number(e.height);
          clearTimeout(timer);
          this.event('node-ready', { node: n.name, sector: n.sector.slug, api: n.api, p2p: n.p2p, height: n.height, backend: n.backend }, `node   ${n.name.padEnd(15)} ${(n.backend ?? '?').padEnd(6)} height ${n.height}  api ${n.api}  p2p ${n.p2p}`);
          resolveReady();
        }
        this.onNodeEvent(n, e);
      });
      void n.exited.then(() => {
        clearTimeout(timer);
        rejectReady(new PouwError('devnet-node-failed', `${n.name} exited (${n.exit!.code ?? n.exit!.signal}) before it was ready; see ${log.path}`));
        if (!n.stopping && this.startedMs > 0) {
          this.unexpectedExits++;
          this.event('node-exit', { node: n.name, code: n.exit!.code, signal: n.exit!.signal }, `warning: ${n.name} exited (${n.exit!.code ?? n.exit!.signal}); see ${log.path}`);
        }
      });
    });
  }

  private onNodeEvent(n: DevnetNode, e: Record<string, any>): void {
    switch (e.type) {
      case 'miner-start':
        n.backend = String(e.backend);
        break;
      case 'edge-connection':
        n.edgeState = String(e.state);
        break;
      case 'assignment-accepted':
        n.accepted++;
        break;
      case 'assignment-rejected':
        n.rejected++;
        break;
      case 'stopped':
        n.height = Math.max(n.height, Number(e.height));
        break;
    }
    if (!FORWARDED.has(String(e.type))) return;
    const text =
      e.type === 'assignment-rejected'
        ? `warning: ${n.name} rejected the assignment of ${String(e.txid).slice(0, 16)}…: ${e.code} ${e.detail}`
        : e.type === 'edge-relay-refused' || e.type === 'edge-header-refused'
          ? `warning: ${n.name}: ${e.type} ${e.code}`
          : undefined;
    this.event('node-event', { node: n.name, sector: n.sector.slug, event: e }, text);
  }

  /** The edge's public API, through the contract's client. */
  private get edgeApi(): EdgeApi {
    this.api ??= new EdgeApi({ url: this.edge!.url, timeoutMs: 5000 });
    return this.api;
  }

  /** Polls the nodes and the edge, then redraws. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await Promise.all([...this.nodes.map((n) => this.pollNode(n)), this.pollEdge()]);
      if (this.startedMs > 0) this.view.update(this.snapshot());
    } finally {
      this.ticking = false;
    }
  }

  private async pollNode(n: DevnetNode): Promise<void> {
    if (!n.api || n.exit) return;
    try {
      const res = await fetch(`${n.api}/v1/status`, { signal: AbortSignal.timeout(2000) });
      const s = (await res.json()) as NodeStatusJson;
      n.height = s.tip.height;
      n.peers = s.peers.length;
      n.hps10s = s.mining?.hashesPerSecond10s ?? 0;
      n.hps60s = s.mining?.hashesPerSecond60s ?? 0;
      n.work = s.blocks;
      n.workAtStart ??= s.blocks;
    } catch {
      // Busy or stopping: the last figures stand.
    }
  }

  private async pollEdge(): Promise<void> {
    try {
      const sectors = await this.edgeApi.call('sectors');
      for (const s of sectors.ok ? sectors.value.sectors : []) {
        this.edgeTips.set(s.id, { height: s.tip.height, bits: decodeHeader(fromHex(s.tip.header)).bits });
      }
      await this.pollBeacon();
      await this.stream?.poll();
    } catch {
      // The edge is in this process; a failure here is a timeout under load, retried next tick.
    }
  }

  /**
   * The newest published beacon: R_w of the current window w when its
   * anchors have settled, else the windows after the last one seen, in order
   * (beacons lag by the blocks a median-time-past spans).
   */
  private async pollBeacon(): Promise<void> {
    const current = windowOf(Date.now(), this.spec.genesisTimeMs, this.spec.main.windowMs);
    const floor = this.latestBeacon?.window ?? this.beaconAtStart;
    if (current <= floor) return;
    let found = await this.edgeApi.call('beacon', { params: { window: current } });
    if (!found.ok) {
      for (let w = floor + 1, steps = 0; w < current && steps < 16; w++, steps++) {
        const r = await this.edgeApi.call('beacon', { params: { window: w } });
        if (!r.ok) break;
        found = r;
      }
    }
    if (!found.ok) return;
    const b = found.value;
    this.latestBeacon = { window: b.window, beacon: b.beacon, anchors: b.anchors.map((a) => ({ sectorId: a.sectorId, height: a.height })) };
    this.event('beacon', this.latestBeacon);
  }

  private sectorRows(): SectorRow[] {
    return this.spec.sectors.map((s) => {
      const nodes = this.nodes.filter((n) => n.sector === s);
      const tip = this.edgeTips.get(s.id);
      const height = Math.max(...nodes.map((n) => n.height));
      const start = this.state.heights?.[s.slug] ?? 0;
      return {
        id: s.id,
        sector: s.slug,
        backend: [...new Set(nodes.map((n) => n.backend ?? '?'))].join('/'),
        height,
        blocks: height - start,
        work: this.workOf(nodes),
        edgeHeight: tip?.height ?? 0,
        bits: tip ? tip.bits.toString(16).padStart(8, '0') : '',
        hashesPerBlock: tip ? formatWork(tip.bits) : '',
        hashesPerSecond: nodes.reduce((sum, n) => sum + n.hps10s, 0),
        hashesPerSecond60s: nodes.reduce((sum, n) => sum + n.hps60s, 0),
        peers: nodes.map((n) => n.peers),
        nodesUp: nodes.filter((n) => n.api && !n.exit).length,
        nodes: nodes.length,
        edgeLinks: nodes.filter((n) => n.edgeState === 'open').length,
        accepted: nodes.reduce((sum, n) => sum + n.accepted, 0),
        rejected: nodes.reduce((sum, n) => sum + n.rejected, 0),
      };
    });
  }

  /** Blocks of the sector's best chain found this run by hashing and by useful work, from its highest node. */
  private workOf(nodes: DevnetNode[]): { hash: number; matmul: number } {
    const best = [...nodes].sort((a, b) => b.height - a.height)[0];
    if (!best?.workAtStart) return { hash: 0, matmul: 0 };
    return { hash: Math.max(0, best.work.hash - best.workAtStart.hash), matmul: Math.max(0, best.work.matmul - best.workAtStart.matmul) };
  }

  private totals() {
    return {
      accepted: this.nodes.reduce((sum, n) => sum + n.accepted, 0),
      rejected: this.nodes.reduce((sum, n) => sum + n.rejected, 0),
    };
  }

  private beaconsThisRun(): number {
    return this.latestBeacon ? this.latestBeacon.window - this.beaconAtStart : 0;
  }

  private snapshot(): DevnetSnapshot {
    return {
      dataDir: this.dataDir,
      edgeUrl: this.edge?.url ?? '',
      upS: Math.round((Date.now() - this.startedMs) / 1000),
      window: windowOf(Date.now(), this.spec.genesisTimeMs, this.spec.main.windowMs),
      sectors: this.sectorRows(),
      beacon: this.latestBeacon,
      beaconsThisRun: this.beaconsThisRun(),
      ...this.economy(),
      assignments: this.totals(),
    };
  }

  /** The stream's figures, as the view and the summary show them. */
  private economy(): StreamFigures {
    const f = this.stream?.current;
    return {
      main: f?.main ?? { submitted: 0, final: 0, void: 0, applied: 0 },
      conversions: f?.conversions ?? { submitted: 0, witnessed: 0, minted: 0, void: 0 },
      prices: f?.prices ?? {},
      accounts: f?.accounts ?? [],
      treasury: f?.treasury ?? '0',
      roots: f?.roots ?? { nodes: 0, agree: 0, pending: 0, mismatches: 0 },
      settlements: f?.settlements ?? { owed: 0, applied: 0, held: 0 },
      tasks: f?.tasks ?? { submitted: 0, final: 0, expired: 0, void: 0 },
    };
  }

  /** SIGINT to every node, a wait, SIGKILL for any still running after STOP_TIMEOUT_MS; then the edge. True when all stopped cleanly. */
  async shutdown(): Promise<boolean> {
    clearInterval(this.ticker);
    clearInterval(this.txTimer);
    const running = this.nodes.filter((n) => n.child && !n.exit);
    for (const n of running) {
      n.stopping = true;
      n.child!.kill('SIGINT');
    }
    const all = Promise.all(running.map((n) => n.exited));
    const timedOut = await Promise.race([all.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut) {
      for (const n of running) if (!n.exit) n.child!.kill('SIGKILL');
      await all;
    }
    await this.edge?.close();
    await new Promise<void>((r) => (this.edgeLog ? this.edgeLog.end(() => r()) : r()));
    if (this.latestBeacon) this.state.lastBeacon = this.latestBeacon.window;
    const heights = Object.fromEntries(this.sectorRows().map((r) => [r.sector, r.height]));
    writeJsonAtomic(join(this.dataDir, 'devnet.json'), { ...this.state, heights });
    return !timedOut && this.unexpectedExits === 0 && this.nodes.every((n) => !n.child || n.exit?.code === 0);
  }

  /** Kills every node still running; for an exit that skipped `shutdown`. */
  killAll(): void {
    for (const n of this.nodes) if (n.child && !n.exit) n.child.kill('SIGKILL');
  }

  private summary(clean: boolean): DevnetSummary {
    return {
      reason: this.stopReason,
      clean,
      data: this.dataDir,
      resumed: this.resumed,
      genesisTimeMs: this.spec.genesisTimeMs,
      runMs: this.startedMs ? Date.now() - this.startedMs : 0,
      sectors: this.sectorRows().map((r) => ({
        id: r.id,
        sector: r.sector,
        backend: r.backend,
        height: r.height,
        mined: r.blocks,
        blocks: r.work,
        edgeHeight: r.edgeHeight,
        bits: r.bits,
        hashesPerSecond: Math.round(r.hashesPerSecond60s),
        assignmentsAccepted: r.accepted,
        assignmentsRejected: r.rejected,
      })),
      beacons: { latest: this.latestBeacon, publishedThisRun: this.beaconsThisRun() },
      ...this.economy(),
      assignments: this.totals(),
      nodes: this.nodes.map((n) => ({ name: n.name, exitCode: n.exit?.code ?? null, signal: n.exit?.signal ?? null })),
    };
  }
}

async function runDevnet(opts: DevnetOpts): Promise<void> {
  const dataDir = resolve(opts.data ?? networkDataDir('devnet-run'));
  mkdirSync(dataDir, { recursive: true });
  const lock = takeLock(dataDir);
  let devnet: Devnet | undefined;
  const onExit = () => devnet?.killAll();
  process.once('exit', onExit);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) devnet?.requestStop(sig);
    else {
      // A second Ctrl-C: do not wait for the nodes.
      devnet?.killAll();
      process.exit(1);
    }
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  try {
    const { state, resumed } = loadState(dataDir);
    devnet = new Devnet(opts, state, resumed, dataDir);
    const clean = await devnet.run();
    if (!clean) throw new PouwError('devnet-unclean', 'a node did not stop cleanly; see the logs under ' + join(dataDir, 'logs'));
  } finally {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
    process.off('exit', onExit);
    rmSync(lock, { force: true });
  }
}

export function registerDevnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('run a local network: the edge and every sector with mining nodes, with a live view')
    .addOption(new Option('--data <dir>', 'data directory of this devnet (default $XDG_DATA_HOME/pouw/devnet-run); a rerun resumes it').env('POUW_DEVNET_DATA'))
    .addOption(new Option('--duration <seconds>', 'stop by itself after this many seconds of running, with a summary').argParser(intArg('duration', 1, 31 * 24 * 3600)))
    .addOption(new Option('--nodes <n>', 'mining nodes per sector').argParser(intArg('nodes', 1, 8)).default(2))
    .addOption(new Option('--threads <n>', 'mining threads per node').argParser(intArg('threads', 1, 256)).default(1))
    .addOption(new Option('--edge-port <n>', 'edge port on 127.0.0.1 (0: any free one)').argParser(intArg('edge port', 0, 65535)).default(0))
    .addOption(new Option('--tx-interval <ms>', 'one step of the economy stream (sector transfer, conversion, MAIN transfers) this often (0: none)').argParser(intArg('tx interval', 0, 3_600_000)).default(2000))
    .option('--json', 'NDJSON events on stdout instead of the live view')
    .action(runDevnet);
}
