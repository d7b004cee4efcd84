/**
 * Talking to a running node's local API from the CLI: finding it (an explicit
 * `--api` URL, or the `node.json` a node writes into its sector's data
 * directory), and fetching JSON with every failure turned into a coded error.
 * A POST carries the node's cookie token, read from the `api.cookie` beside
 * its node.json (or the file `--api-cookie` names).
 * @module
 */
import type { WorkKind } from '../core/params.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { PouwError } from '../core/errors.js';
import { networkDataDir, processAlive } from './paths.js';

export interface NodeLocationOpts {
  api?: string;
  apiCookie?: string;
  sector?: string;
  data?: string;
}

/** A node's API: its URL, and the cookie file its token is read from for state-changing calls. */
export interface NodeApi {
  url: string;
  cookieFile?: string;
}

/** `--api`, `--sector` and `--data`, read the same way by every command that talks to a node. */
export function addNodeLocationOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--api <url>', "the node's local API (default: found from --sector and --data)").env('POUW_API'))
    .addOption(new Option('--api-cookie <file>', "the node's api.cookie (default: the one beside its node.json)").env('POUW_API_COOKIE'))
    .addOption(new Option('--sector <slug>', 'sector of the local node to use').env('POUW_SECTOR'))
    .addOption(new Option('--data <dir>', 'data directory (default $XDG_DATA_HOME/pouw/devnet)').env('POUW_DATA'));
}

export function dataDirOf(opts: { data?: string }): string {
  return opts.data ?? networkDataDir('devnet');
}

/** The API of the node `opts` designate; with neither --api nor --sector, the only running node under the data directory. */
export function nodeApiUrl(opts: NodeLocationOpts): NodeApi {
  const dir = dataDirOf(opts);
  const infoOf = (sector: string) => join(dir, sector, 'node.json');
  const info = (sector: string): { pid?: unknown; api?: unknown } | undefined => {
    if (!existsSync(infoOf(sector))) return undefined;
    try {
      return JSON.parse(readFileSync(infoOf(sector), 'utf8')) as { pid?: unknown; api?: unknown };
    } catch {
      return undefined;
    }
  };
  // node.json names the process that wrote it; one left by a node that died does not count.
  const running = (sector: string) => processAlive(info(sector)?.pid);
  const sectors = () => (existsSync(dir) ? readdirSync(dir).filter(running) : []);
  const cookieOf = (sector: string) => opts.apiCookie ?? join(dir, sector, 'api.cookie');
  if (opts.api) {
    if (!URL.canParse(opts.api) || !/^https?:$/.test(new URL(opts.api).protocol)) {
      throw new PouwError('usage', `--api must be an http:// URL, not "${opts.api}"`);
    }
    const url = opts.api.replace(/\/+$/, '');
    // The cookie of the local node that serves this URL, if one does.
    const local = sectors().find((s) => info(s)?.api === url);
    return { url, cookieFile: opts.apiCookie ?? (local ? cookieOf(local) : undefined) };
  }
  let sector = opts.sector;
  if (!sector) {
    const live = sectors();
    if (live.length !== 1) {
      throw new PouwError(
        'usage',
        live.length === 0 ? `no running node found under ${dir}; pass --api or --sector` : `nodes of ${live.join(', ')} run under ${dir}: pick one with --sector`,
      );
    }
    sector = live[0]!;
  }
  if (!running(sector)) throw new PouwError('node-not-running', `no running node of sector ${sector} under ${dir}`);
  return { url: String(info(sector)!.api), cookieFile: cookieOf(sector) };
}

/** The token in `api.cookieFile`, for a state-changing call. */
function tokenOf(api: NodeApi): string {
  if (!api.cookieFile) throw new PouwError('auth-required', `no api.cookie is known for ${api.url}: pass --api-cookie <file> (it lies in the node's sector data directory)`);
  try {
    return readFileSync(api.cookieFile, 'utf8').trim();
  } catch (e) {
    throw new PouwError('auth-required', `cannot read the node's cookie ${api.cookieFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** GET or POST JSON; an `{error}` answer becomes a PouwError with the node's code. */
export async function nodeRequest<T>(api: NodeApi, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(api)}` };
  let res: Response;
  try {
    res = await fetch(`${api.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
  } catch (e) {
    throw new PouwError('node-unreachable', `the node's API at ${api.url} did not answer: ${(e as Error).message}`);
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
  main: { symbol: string; decimals: number; windowMs: number };
  genesisTimeMs: number;
  workKinds: WorkKind[];
  lottery: { rank: number; tileRows: number; tileCols: number; macsPerHash: string };
  tip: { height: number; id: string };
  peers: unknown[];
  mempool: { txs: number };
  /** The edge the node is linked to, if any. */
  edge: string | null;
}
