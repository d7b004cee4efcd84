/**
 * `pouw node start` and `pouw node status`: one sector's full node with an
 * optional miner, its P2P port and its local API on 127.0.0.1, and with
 * `--edge` its link to an edge coordinator (node/edge-client.ts), signed with
 * the node key `<sector dir>/node-key.json`.
 *
 * Output follows the miner habit: a startup summary naming the kernel backend
 * and why faster ones were skipped, a `speed 10s/60s/15m` line every 10 s,
 * and each found block as accepted or rejected with the reason; with --json
 * the same events are NDJSON on stdout. Ctrl-C (SIGINT/SIGTERM) stops cleanly.
 * Option values: flags > POUW_* environment > configuration file > defaults
 * (cli/settings.ts).
 * @module
 */
import { serve } from '@hono/node-server';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { addressOf, decodeAddress, keyPairFromSeed } from '../core/keys.js';
import { devnetSpec, findSector } from '../core/params.js';
import { createApi } from '../node/api.js';
import { answerClientErrors } from '../platform/node/http-errors.js';
import { EdgeClient, type EdgeClientEvent } from '../node/edge-client.js';
import { MainView } from '../node/main-view.js';
import { directPool, workerPool } from '../platform/node/kernel-pool.js';
import { selectKernel } from '../platform/node/kernels.js';
import { Miner } from '../node/miner.js';
import { TaskFeed } from '../node/task-feed.js';
import { packageInfo } from '../platform/node/package-info.js';
import { SectorNode } from '../node/sector-node.js';
import { Output } from './output.js';
import { addNodeLocationOptions, dataDirOf, nodeApiUrl, nodeRequest, type NodeLocationOpts, type NodeStatus } from './node-client.js';
import { createKey, readKey, type StoredKey } from './keystore.js';
import { addJsonOption, intArg, type JsonOpts } from './options.js';
import { requireSetting } from './settings.js';

interface StartOpts {
  sector?: string;
  peer: string[];
  mine?: boolean;
  data?: string;
  port: number;
  apiPort: number;
  apiHost?: string[];
  threads: number;
  verifyThreads?: number;
  address?: string;
  genesisTime?: number;
  edge?: string;
  json?: boolean;
}

/** Repeatable, and comma-separated lists too (one POUW_PEER variable can name several). */
const peerList = (v: string, acc: string[]) => {
  const urls = v.split(/[\s,]+/).filter(Boolean);
  for (const u of urls) if (!/^wss?:\/\//.test(u) || !URL.canParse(u)) throw new InvalidArgumentError(`"${u}" is not a ws:// URL`);
  return [...acc, ...urls];
};

const httpUrl = (v: string) => {
  if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) throw new InvalidArgumentError(`"${v}" is not an http:// URL`);
  return v;
};

/** The key `<dir>/<name>.json` (0600 in a 0700 directory), made on first use; a node's edge key is `<sector dir>/node-key.json`. */
export function openKey(dir: string, name: string): StoredKey {
  try {
    return readKey(dir, name);
  } catch (e) {
    if (!(e instanceof PouwError) || e.code !== 'key-not-found') throw e;
    return createKey(dir, name, randomBytes(32), new Date());
  }
}

/** One line of text per edge client event worth a line (relays and beacons only with --json). */
function edgeEventText(e: EdgeClientEvent): string | undefined {
  switch (e.type) {
    case 'edge-connection':
      return `edge   ${e.state} ${e.url}${e.reason ? ` (${e.reason})` : ''}${e.retryInMs !== undefined ? `, retry in ${e.retryInMs} ms` : ''}`;
    case 'edge-relay-refused':
      return `edge   refused our headers: ${e.code} ${e.message}`;
    case 'edge-header-refused':
      return `edge   relayed a header of sector ${e.sectorId} we refuse: ${e.code} ${e.detail}`;
    case 'assignment-accepted':
      return `assignment ${e.kind} ${e.txid.slice(0, 16)}… window ${e.window} taken (sectors ${e.primary.join(',')}; beacon ${e.beaconCheck})`;
    case 'assignment-rejected':
      return `assignment ${e.kind} ${e.txid.slice(0, 16)}… rejected: ${e.code} ${e.detail}`;
    case 'record-reported':
      return `record MAIN ${e.txid.slice(0, 16)}… in block ${e.height} ${e.status < 300 ? 'reported to the edge' : `refused by the edge: ${e.code ?? e.status}`}`;
    default:
      return undefined;
  }
}

/** The devnet spec of a data directory: created with genesis "now" (or --genesis-time) on first use, then reused. */
function loadSpec(dataDir: string, genesisTime?: number) {
  const file = join(dataDir, 'spec.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { network: string; genesisTimeMs: number };
    if (genesisTime !== undefined && genesisTime !== saved.genesisTimeMs) {
      throw new PouwError('config-genesis-mismatch', `${file} holds genesis time ${saved.genesisTimeMs}, not ${genesisTime}`);
    }
    return devnetSpec(saved.genesisTimeMs);
  }
  const spec = devnetSpec(genesisTime ?? Date.now());
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ network: spec.name, genesisTimeMs: spec.genesisTimeMs }, null, 2) + '\n');
  return spec;
}

async function start(opts: StartOpts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const dataDir = dataDirOf(opts);
  const spec = loadSpec(dataDir, opts.genesisTime);
  const sectorRef = requireSetting(opts.sector, '--sector', 'POUW_SECTOR');
  const sector = findSector(spec, sectorRef);
  if (!sector) throw new PouwError('usage', `unknown sector "${sectorRef}" (known: ${spec.sectors.map((s) => s.slug).join(', ')})`);
  const sectorDir = join(dataDir, sector.slug);
  mkdirSync(sectorDir, { recursive: true });
  const event = (type: string, fields: object, text: string) => (opts.json ? out.resultJson({ ...fields, type }) : out.log(text));

  const node = new SectorNode({
    spec,
    sector,
    dbPath: join(sectorDir, 'chain.db'),
    port: opts.port,
    peers: opts.peer,
    ...(opts.verifyThreads !== undefined ? { verifyThreads: opts.verifyThreads } : {}),
  });
  const p2pPort = await node.start();
  let miner: Miner | undefined;
  /** The task the miner works on (set up with the edge, below). */
  let feed: TaskFeed | undefined;
  let speedTimer: ReturnType<typeof setInterval> | undefined;
  if (opts.mine) {
    let minerAddress: Uint8Array;
    if (opts.address) {
      const a = decodeAddress(opts.address, spec.addressPrefix);
      if (!a.ok) throw new PouwError('usage', `--address: ${a.detail} (${a.code})`);
      minerAddress = a.value;
    } else {
      minerAddress = addressOf(keyPairFromSeed(new Uint8Array(32)).publicKey);
    }
    const choice = await selectKernel(packageInfo().root);
    const b = choice.backend;
    const pool = b.name === 'native' ? directPool(b, opts.threads) : opts.threads > 1 ? await workerPool(packageInfo().root, b.name, opts.threads) : directPool(b, 1);
    event(
      'miner-start',
      { backend: b.name, sha256d: b.capabilities.sha256d, threads: opts.threads, skipped: choice.skipped },
      [
        `miner  backend ${b.name} (${b.capabilities.sha256d}), ${opts.threads} thread(s)`,
        ...choice.skipped.map((s) => `       skipped ${s.name}: ${s.reason}`),
      ].join('\n'),
    );
    miner = new Miner(node, pool, {
      miner: minerAddress,
      batch: b.name === 'js' ? 1n << 12n : 1n << 20n,
      // Mining by doing: the task feed (below, with the edge) names the task, if any.
      task: () => feed?.task(),
      onEvent: (e) => {
        if (e.type === 'task-product') return event('task-product', e, `task   ${e.task.slice(0, 16)}… product A·B recovered in ${e.runMs} ms`);
        if (e.type === 'miner-failed') return event('miner-failed', e, `error  mining stopped: ${e.message}`);
        const how = e.work === 'matmul' ? ` by useful work on task ${e.task!.slice(0, 16)}…` : '';
        event('block-found', e, `${e.accepted ? 'accepted' : 'rejected'} block ${e.height} ${e.id.slice(0, 16)}… (${e.txs} txs)${how}`);
      },
    });
    miner.start();
    speedTimer = setInterval(() => {
      const s = [10_000, 60_000, 900_000].map((w) => miner!.speed(w));
      event('speed', { h10s: s[0], h60s: s[1], h15m: s[2] }, `speed 10s/60s/15m ${s.map((x) => (x / 1e6).toFixed(2)).join(' ')} MH/s`);
    }, 10_000);
  }
  node.on((e) => {
    if (e.type === 'block-rejected') event('block-rejected', e, `rejected block ${e.id.slice(0, 16)}…: ${e.code} ${e.detail}`);
    if (e.type === 'block-held') event('block-held', e, `held block ${e.height} ${e.id.slice(0, 16)}…: its settlements wait for our MAIN fold`);
    if (e.type === 'peer') event('peer', e, `peer ${e.address} ${e.event}${e.reason ? ` (${e.reason})` : ''}`);
    if (e.type === 'error') event('error', { message: e.error.message }, `error  ${e.error.message}`);
  });
  let edge: EdgeClient | undefined;
  let mainView: MainView | undefined;
  if (opts.edge) {
    const nodeKey = openKey(sectorDir, 'node-key');
    edge = new EdgeClient({ url: opts.edge, node, key: nodeKey });
    edge.on((e) => {
      const text = edgeEventText(e);
      if (opts.json) out.resultJson(e);
      else if (text) out.log(text);
    });
    edge.start();
    mainView = new MainView({ spec, networkId: node.networkId, api: edge.api, view: edge.view, store: node.store.main });
    mainView.on((e) => {
      if (opts.json) return out.resultJson(e);
      if (e.type === 'main-window') out.log(`main   window ${e.window} folded: ${e.applied} applied, ${e.void} void, root ${e.root.slice(0, 16)}…${e.edgeRoot === null ? '' : e.edgeRoot === e.root ? ' (edge agrees)' : ''}`);
      if (e.type === 'main-root-mismatch') out.log(`main   ROOT MISMATCH at window ${e.window}: ours ${e.root}, the edge's ${e.edgeRoot}`);
    });
    node.attachMain(mainView);
    mainView.start();
    if (miner) {
      feed = new TaskFeed({
        spec,
        sector,
        main: mainView,
        api: edge.api,
        nodeKey: toHex(nodeKey.publicKey),
        onEvent: (e) => {
          if (e.type === 'task-taken') event(e.type, e, `task   mining by doing on ${e.task.slice(0, 16)}… (${e.dims.join('×')})`);
          else if (e.type === 'task-dropped') event(e.type, e, `task   ${e.task.slice(0, 16)}… dropped: ${e.why}`);
          else event(e.type, e, `task   ${e.task.slice(0, 16)}… inputs refused: ${e.code} ${e.detail}`);
        },
      });
      feed.start();
    }
  }
  // The cookie token, new at every start, readable by this user alone: what POSTs to the API must carry.
  const token = randomBytes(32).toString('hex');
  const cookie = join(sectorDir, 'api.cookie');
  writeFileSync(cookie, token + '\n', { mode: 0o600 });
  chmodSync(cookie, 0o600);
  const api = createApi(node, { miner, main: mainView, edgeUrl: opts.edge, token, hosts: opts.apiHost });
  const server = serve({ fetch: api.fetch, hostname: '127.0.0.1', port: opts.apiPort });
  answerClientErrors(server);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const apiPort = (server.address() as { port: number }).port;
  const info = { pid: process.pid, api: `http://127.0.0.1:${apiPort}`, p2p: `ws://127.0.0.1:${p2pPort}`, sector: sector.slug, cookie };
  writeFileSync(join(sectorDir, 'node.json'), JSON.stringify(info, null, 2) + '\n');
  const tip = node.chain.tip();
  event('ready', { ...info, height: tip.height, tip: toHex(tip.id) }, `node   ${sector.slug} at height ${tip.height}; p2p ${info.p2p}; api ${info.api}`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (speedTimer) clearInterval(speedTimer);
  await miner?.stop();
  await feed?.stop();
  await mainView?.stop();
  await edge?.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const height = node.chain.tip().height;
  await node.stop();
  // Gone with the process: `node status`, `tx send` and `account show` look for node.json.
  rmSync(join(sectorDir, 'node.json'), { force: true });
  rmSync(cookie, { force: true });
  event('stopped', { height }, `stopped cleanly at height ${height}`);
}

async function status(opts: NodeLocationOpts & JsonOpts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const body = await nodeRequest<NodeStatus>(nodeApiUrl(opts), '/v1/status');
  if (out.json) return out.resultJson(body);
  out.result(`${body.sector} height ${body.tip.height}  tip ${body.tip.id}\npeers ${body.peers.length}  mempool ${body.mempool.txs} txs`);
}

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description("run one sector's full node");
  node
    .command('start')
    .description('start a full node (and a miner with --mine)')
    .addOption(new Option('--sector <id>', 'sector id or slug (gpu-hi, gpu-consumer, cpu-edge, accel); required').env('POUW_SECTOR'))
    .addOption(new Option('--peer <url>', 'a peer to dial (ws://host:port), repeatable or comma-separated').argParser(peerList).default([] as string[]).env('POUW_PEER'))
    .option('--mine', 'mine with the best kernel backend')
    .addOption(new Option('--address <addr>', 'address credited with mining rewards').env('POUW_MINER_ADDRESS'))
    .addOption(new Option('--data <dir>', 'data directory (default $XDG_DATA_HOME/pouw/devnet)').env('POUW_DATA'))
    .addOption(new Option('--port <n>', 'P2P port (0: any free one)').argParser(intArg('port', 0, 65535)).default(0).env('POUW_PORT'))
    .addOption(new Option('--api-host <name...>', 'host names the local API answers to besides 127.0.0.1 and localhost (a reverse proxy\'s)').env('POUW_API_HOST'))
    .addOption(new Option('--api-port <n>', 'local API port on 127.0.0.1 (0: any free one)').argParser(intArg('api port', 0, 65535)).default(0).env('POUW_API_PORT'))
    .addOption(new Option('--threads <n>', 'mining threads').argParser(intArg('threads', 1, 1024)).default(1).env('POUW_THREADS'))
    .addOption(
      new Option('--verify-threads <n>', 'worker threads verifying block signatures (default: cores - 1; 0: on the main thread)')
        .argParser(intArg('verify threads', 0, 256))
        .env('POUW_VERIFY_THREADS'),
    )
    .addOption(
      new Option('--genesis-time <ms>', 'genesis time of a new data directory (all nodes of a devnet share it)')
        .argParser(intArg('genesis time', 0, Number.MAX_SAFE_INTEGER))
        .env('POUW_GENESIS_TIME'),
    )
    .addOption(new Option('--edge <url>', 'edge coordinator to relay headers to and take MAIN assignments from (http://host:port)').argParser(httpUrl).env('POUW_EDGE'))
    .option('--json', 'NDJSON events on stdout')
    .action(start);
  addJsonOption(addNodeLocationOptions(node.command('status').description("a running node's height, peers and mempool"))).action(status);
}
