/**
 * Node entry of the edge coordinator: the same Hono app and coordinator as the
 * Worker, on @hono/node-server with `ws` for nodes' sockets and better-sqlite3
 * for the one SQL schema. `startEdge` embeds it (tests, a devnet); run as a
 * program (`node dist/edge/node-server.js`) it reads POUW_EDGE_HOST
 * (127.0.0.1), POUW_EDGE_PORT (8787), POUW_EDGE_DB (edge.db) and the
 * POUW_SPEC / POUW_GENESIS_TIME / POUW_LIMITS of edge/config.ts.
 *
 * Differences from the Worker are only where the runtimes differ: sockets
 * live in this process (one map per sector), the client address is the TCP
 * peer's, a timer stands in for the Durable Object alarm, and signatures are
 * verified with OpenSSL through platform/node/verify.ts (`fastVerifier`, which accepts
 * exactly what core's strict verifier accepts, about 10× faster).
 * @module
 */
import { serve, upgradeWebSocket } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import Database from 'better-sqlite3';
import type { Context } from 'hono';
import type { WSContext } from 'hono/ws';
import { accessSync, constants, existsSync, mkdirSync, statfsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { dirBlobStore } from './blob-dir.js';
import { memoryBlobStore } from './blobs.js';
import { pathToFileURL } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { PouwError } from '../core/errors.js';
import type { Verifier } from '../core/keys.js';
import type { NetworkSpec } from '../core/params.js';
import { errorBody } from '../api/errors.js';
import { answerClientErrors } from '../platform/node/http-errors.js';
import { fastVerifier } from '../platform/node/verify.js';
import { createApp, type SocketHub } from './app.js';
import { limitsFromEnv, specFromEnv } from './config.js';
import { Coordinator, DEFAULT_EDGE_LIMITS, type EdgeLimits, type EdgeRequest, type EdgeResponse } from './coordinator.js';
import { MAX_NODE_FRAME_BYTES, type EdgeFrame } from '../api/frames.js';
import { countControlFrame, handleNodeMessage, messagesBySector, type NodeMessageBackend, type Push } from './messages.js';
import { betterSqlite } from './sql.js';

export interface StartEdgeOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** SQLite file, created if missing; ':memory:' for a throwaway edge. */
  dbPath: string;
  spec: NetworkSpec;
  limits?: Partial<EdgeLimits>;
  /** The clock, ms since the Unix epoch (default Date.now). */
  now?: () => number;
  /** ed25519 verification of tx and node signatures (default platform/node/verify.ts `fastVerifier()`). */
  verify?: Verifier;
  log?: (line: string) => void;
  /** Unsent bytes a node socket may hold before it is dropped (default SEND_BUDGET_BYTES). */
  sendBudgetBytes?: number;
}

export interface EdgeServer {
  /** http://host:port */
  url: string;
  port: number;
  coordinator: Coordinator;
  close(): Promise<void>;
}

/** Bytes a node's socket may have queued and unsent before it is dropped (default of `sendBudgetBytes`). */
export const SEND_BUDGET_BYTES = 8 << 20;
/** The close code of a socket dropped for not reading (when the close frame gets through at all). */
export const CLOSE_SEND_BUDGET = 4008;

/**
 * Nodes' sockets of this process, per sector. Every socket has a send budget:
 * one whose unsent bytes (`bufferedAmount`) would pass it is closed with
 * CLOSE_SEND_BUDGET and its connection dropped at once, so a node that never
 * reads costs the edge at most the budget; what it missed it gets back by the
 * normal catch-up (header ranges and assignment re-pushes on reconnect).
 */
export class LocalHub implements SocketHub {
  private readonly sockets = new Map<number, Set<WSContext>>();
  /** Open node sockets per address. */
  private readonly perIp = new Map<string, number>();
  /** Sockets dropped for going over their send budget. */
  dropped = 0;
  /** Sockets closed for sending past their frame budget (CLOSE_RATE_LIMITED). */
  overBudget = 0;

  constructor(
    private readonly backend: NodeMessageBackend,
    private readonly log: (line: string) => void,
    private readonly sendBudgetBytes = SEND_BUDGET_BYTES,
    private readonly maxSocketsPerIp = DEFAULT_EDGE_LIMITS.maxSocketsPerIp,
  ) {}

  /** Registers an open node socket of `sectorId` for pushes. */
  add(sectorId: number, ws: WSContext): void {
    let set = this.sockets.get(sectorId);
    if (set === undefined) this.sockets.set(sectorId, (set = new Set()));
    set.add(ws);
  }

  /** Sends `frames` within the socket's budget; false (and the socket dropped) when they do not fit. */
  sendWithin(ws: WSContext, frames: readonly string[]): boolean {
    const raw = ws.raw as WebSocket | undefined;
    const bytes = frames.reduce((n, f) => n + Buffer.byteLength(f), 0);
    if (raw && raw.bufferedAmount + bytes > this.sendBudgetBytes) {
      this.dropped++;
      this.log(`a node socket has ${raw.bufferedAmount} bytes unread: closed (${CLOSE_SEND_BUDGET})`);
      raw.close(CLOSE_SEND_BUDGET, 'send budget exceeded: read your socket');
      // Its buffer is what we are freeing: the close handshake cannot wait for a reader that does not read.
      raw.terminate();
      this.forget(ws);
      return false;
    }
    for (const f of frames) ws.send(f);
    return true;
  }

  accept(c: Context, sectorId: number, key: string, ip: string): Response | Promise<Response> {
    if ((this.perIp.get(ip) ?? 0) >= this.maxSocketsPerIp) {
      return c.json(errorBody('too-many-sockets', `this address already holds ${this.maxSocketsPerIp} node sockets`), 429);
    }
    // Counted from the upgrade on, so sockets still opening count too.
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n > 0) this.perIp.set(ip, n);
      else this.perIp.delete(ip);
    };
    return upgradeWebSocket(c, {
      onOpen: (_e, ws) => {
        this.add(sectorId, ws);
        ws.send(JSON.stringify({ type: 'welcome', sectorId, key } satisfies EdgeFrame));
        // Pings are answered by the library; they still count against the budget.
        (ws.raw as WebSocket | undefined)?.on('ping', () => {
          if (ws.readyState !== 1) return;
          countControlFrame(this.backend, key, ip)
            .then((close) => close && this.closeOverBudget(ws, close))
            .catch((err: Error) => this.log(`socket ping failed: ${err.message}`));
        });
      },
      onMessage: (e, ws) => {
        if (ws.readyState !== 1) return; // closing: what it still sends is not read
        const data = typeof e.data === 'string' || e.data instanceof ArrayBuffer ? e.data : '';
        handleNodeMessage(this.backend, sectorId, key, data, ip)
          .then(({ reply, pushes, close }) => {
            this.sendWithin(ws, [JSON.stringify(reply)]);
            this.publish(pushes);
            if (close) this.closeOverBudget(ws, close);
          })
          .catch((err: Error) => this.log(`socket frame failed: ${err.message}`));
      },
      onClose: (_e, ws) => {
        this.sockets.get(sectorId)?.delete(ws);
        release();
      },
      onError: () => release(),
    });
  }

  /** Takes `ws` out of the push lists (it is closing). */
  private forget(ws: WSContext): void {
    for (const set of this.sockets.values()) set.delete(ws);
  }

  /** Closes a socket that sent past its budget; later frames already read are dropped with it. */
  private closeOverBudget(ws: WSContext, close: { code: number; reason: string }): void {
    if (ws.readyState !== 1) return;
    this.overBudget++;
    ws.close(close.code, close.reason);
    this.forget(ws);
    // Read nothing more from a flooding client (what it already queued is never parsed); the
    // close frame has a moment to leave, then the connection goes.
    const raw = ws.raw as WebSocket | undefined;
    raw?.pause();
    setTimeout(() => raw?.terminate(), 250).unref();
  }

  publish(pushes: readonly Push[]): void {
    for (const [sectorId, messages] of messagesBySector(pushes)) {
      const frames = messages.map((m) => JSON.stringify(m));
      for (const ws of this.sockets.get(sectorId) ?? []) {
        try {
          this.sendWithin(ws, frames);
        } catch (e) {
          // A socket closing under us misses the push; the node resyncs from the API.
          this.log(`push to a sector ${sectorId} socket failed: ${(e as Error).message}`);
        }
      }
    }
  }

  closeAll(): void {
    for (const set of this.sockets.values()) for (const ws of set) ws.close(1001, 'edge stopping');
    this.sockets.clear();
  }
}

/** Free space under which the edge warns at start (writes will soon be refused with storage-full). */
export const LOW_DISK_BYTES = 256 << 20;

/** A read-only data directory is an error that says so; little free space is a warning. */
function checkDataDir(dir: string, log: (line: string) => void): void {
  let at = dir;
  // The nearest existing ancestor is where the directory would be made.
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  try {
    accessSync(at, constants.W_OK);
  } catch {
    throw new PouwError('edge-data-read-only', `the edge's data directory ${at} is not writable (read-only file system or permissions)`);
  }
  try {
    const fs = statfsSync(at);
    const free = fs.bavail * fs.bsize;
    if (free < LOW_DISK_BYTES) log(`warning: ${Math.floor(free / 2 ** 20)} MiB free under ${at}; below ${LOW_DISK_BYTES >> 20} MiB writes may soon be refused (storage-full)`);
  } catch {
    // No statfs on this platform: nothing to warn about.
  }
}

/** Starts the edge on Node and resolves once it listens. */
export async function startEdge(options: StartEdgeOptions): Promise<EdgeServer> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => Date.now());
  const log = options.log ?? (() => undefined);
  let db: Database.Database;
  if (options.dbPath !== ':memory:') checkDataDir(dirname(options.dbPath), log);
  try {
    if (options.dbPath !== ':memory:') mkdirSync(dirname(options.dbPath), { recursive: true });
    db = new Database(options.dbPath);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    throw new PouwError('edge-db-open-failed', `cannot open the edge database at ${options.dbPath}: ${(e as Error).message}`, { cause: e });
  }
  let coordinator: Coordinator;
  try {
    coordinator = new Coordinator(betterSqlite(db), { spec: options.spec, limits: options.limits, now, verify: options.verify ?? fastVerifier() });
  } catch (e) {
    db.close();
    throw e;
  }
  // One timer stands in for the Durable Object alarm: at the end of the window a pending assignment
  // waits on, or at once while a backlog remains. Every answer (HTTP or socket frame) resets it.
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const wake = (atMs: number | null) => {
    clearTimeout(timer);
    timer = undefined;
    if (atMs === null || closed) return;
    // setTimeout fires at once for delays beyond 2^31 − 1 ms: wait in steps instead.
    const delay = Math.min(Math.max(0, atMs - now()) + 1, 2 ** 31 - 1);
    timer = setTimeout(() => {
      if (closed) return;
      try {
        const res = backend.handle({ op: 'advance' });
        hub.publish(res.pushes);
      } catch (e) {
        log(`scheduled assignment failed: ${(e as Error).message}; retrying in 1 s`);
        wake(now() + 1000);
      }
    }, delay);
    timer.unref();
  };
  const backend: NodeMessageBackend & { handle(req: EdgeRequest): EdgeResponse } = {
    handle: (req) => {
      const res = coordinator.handle(req);
      if (res.wakeAtMs !== undefined) wake(res.wakeAtMs);
      return res;
    },
  };
  const hub = new LocalHub(backend, log, options.sendBudgetBytes, options.limits?.maxSocketsPerIp);

  const app = createApp({
    backend,
    hub,
    // Blobs beside the database (an in-memory edge keeps them in memory).
    blobs: options.dbPath === ':memory:' ? memoryBlobStore() : dirBlobStore(join(dirname(options.dbPath), 'blobs')),
    clientIp: (c) => getConnInfo(c).remote.address ?? 'unknown',
    log,
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_NODE_FRAME_BYTES });
  const server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host, websocket: { server: wss } });
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    coordinator,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      hub.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      db.close();
    },
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const port = Number(env.POUW_EDGE_PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PouwError('edge-bad-config', 'POUW_EDGE_PORT must be a port number');
  const edge = await startEdge({
    host: env.POUW_EDGE_HOST ?? '127.0.0.1',
    port,
    dbPath: env.POUW_EDGE_DB ?? 'edge.db',
    spec: specFromEnv(env),
    limits: limitsFromEnv(env),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(`edge coordinator listening on ${edge.url} (network ${edge.coordinator.spec.name})\n`);
  const stop = () => void edge.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    process.stderr.write(`error: ${e.message}${e instanceof PouwError ? ` (${e.code})` : ''}\n`);
    process.exit(e instanceof PouwError ? 2 : 1);
  });
}
