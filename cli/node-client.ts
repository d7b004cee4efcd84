/**
 * Talking to a running node's local API from the CLI: finding it (an explicit
 * `--api` URL, or the `node.json` a node writes into its sector's data
 * directory), and fetching JSON with every failure turned into a coded error.
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { PouwError } from '../core/errors.js';
import { networkDataDir, processAlive } from './paths.js';

export interface NodeLocationOpts {
  api?: string;
  sector?: string;
  data?: string;
}

/** `--api`, `--sector` and `--data`, read the same way by every command that talks to a node. */
export function addNodeLocationOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--api <url>', "the node's local API (default: found from --sector and --data)").env('POUW_API'))
    .addOption(new Option('--sector <slug>', 'sector of the local node to use').env('POUW_SECTOR'))
    .addOption(new Option('--data <dir>', 'data directory (default $XDG_DATA_HOME/pouw/devnet)').env('POUW_DATA'));
}

export function dataDirOf(opts: { data?: string }): string {
  return opts.data ?? networkDataDir('devnet');
}

/** The API URL of the node `opts` designate; with neither --api nor --sector, the only running node under the data directory. */
export function nodeApiUrl(opts: NodeLocationOpts): string {
  if (opts.api) {
    if (!URL.canParse(opts.api) || !/^https?:$/.test(new URL(opts.api).protocol)) {
      throw new PouwError('usage', `--api must be an http:// URL, not "${opts.api}"`);
    }
    return opts.api.replace(/\/+$/, '');
  }
  const dir = dataDirOf(opts);
  const infoOf = (sector: string) => join(dir, sector, 'node.json');
  // node.json names the process that wrote it; one left by a node that died does not count.
  const running = (sector: string) => {
    if (!existsSync(infoOf(sector))) return false;
    try {
      return processAlive((JSON.parse(readFileSync(infoOf(sector), 'utf8')) as { pid?: unknown }).pid);
    } catch {
      return false;
    }
  };
  let sector = opts.sector;
  if (!sector) {
    const live = existsSync(dir) ? readdirSync(dir).filter(running) : [];
    if (live.length !== 1) {
      throw new PouwError(
        'usage',
        live.length === 0 ? `no running node found under ${dir}; pass --api or --sector` : `nodes of ${live.join(', ')} run under ${dir}: pick one with --sector`,
      );
    }
    sector = live[0]!;
  }
  if (!running(sector)) throw new PouwError('node-not-running', `no running node of sector ${sector} under ${dir}`);
  return (JSON.parse(readFileSync(infoOf(sector), 'utf8')) as { api: string }).api;
}

/** GET or POST JSON; an `{error}` answer becomes a PouwError with the node's code. */
export async function nodeRequest<T>(api: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${api}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
  } catch (e) {
    throw new PouwError('node-unreachable', `the node's API at ${api} did not answer: ${(e as Error).message}`);
  }
  const json = (await res.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined;
  if (!res.ok || json === undefined) {
    const e = json?.error;
    throw new PouwError(e?.code ?? 'node-error', e?.message ?? `the node answered ${res.status} without JSON`);
  }
  return json as T;
}

/** What the CLI needs of `/v1/status`. */
export interface NodeStatus {
  network: string;
  networkId: string;
  sector: string;
  sectorId: number;
  addressPrefix: string;
  symbol: string;
  decimals: number;
  tip: { height: number; id: string };
  peers: unknown[];
  mempool: { txs: number };
}
