/**
 * The edge coordinator: every API operation as one function of (request,
 * clock, SQL), shared by both runtimes. The Node entry calls it in-process;
 * the Worker calls it in the coordinator Durable Object over RPC. Requests and
 * answers are plain data (strings, numbers, JSON) so they cross RPC unchanged.
 *
 * One request is one SQL transaction, in three nested steps:
 *   1. a token from the client IP's bucket (internal calls have no IP);
 *   2. for node-only operations, the node's signature over the request's scope,
 *      which spends its challenge, then a token from the node key's bucket;
 *   3. the operation, then assignment of every tx whose beacon became
 *      publishable.
 * A refusal (a thrown PouwError) undoes its own step and the ones inside it,
 * and keeps what the outer steps wrote: a request refused for its signature
 * still spent its IP token, a refused operation still spent its challenge.
 * A refusal is `{ error: { code, message } }` with the status of its code
 * (edge/errors.ts). Anything else thrown is a bug: the whole transaction rolls
 * back and the caller answers 500.
 *
 * The answer lists pushes (messages for the nodes of some sectors) and
 * `wakeAtMs`, when a pending assignment's window ends; the runtime delivers the
 * first and sets a timer (Node) or an alarm (Durable Object) for the second.
 * The clock and the randomness of challenges are options (by default
 * `Date.now` and `crypto.getRandomValues`), so tests and replays control them;
 * so is the ed25519 verifier of tx and node signatures (by default core's
 * strict one; the Node entry passes a faster one that accepts exactly the same).
 * @module
 */
import { toHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { genesisId, networkId } from '../core/genesis.js';
import { encodeHeader } from '../core/header.js';
import { specProblems, type NetworkSpec, type SectorParams } from '../core/params.js';
import type { Verifier } from '../core/keys.js';
import { windowOf } from '../core/time.js';
import type { AuthInput, AuthRequest } from '../api/auth.js';
import { decimalOf, headerJson, sectorOf, txidOf, type WorkHeader } from '../api/codec.js';
import { taskSubmitBody } from '../api/tasks.js';
import { EdgeTasks } from './tasks.js';
import { errorBody, reject } from '../api/errors.js';
import {
  conversionBody,
  mainSubmitBody,
  recordBody,
  relayBody,
  ROUTE_NAMES,
  ROUTES,
  type HeaderRangeJson,
  type RelayJson,
  type RouteName,
  type SectorsJson,
  type TipJson,
  type ParseLimits,
} from '../api/routes.js';
import { Assignments, type Answer } from './assignments.js';
import { MainFold } from './main-fold.js';
import { mainStateJson, windowDataJson, MAX_WINDOW_LIST, type MainAccountJson, type WindowListJson } from '../api/main.js';
import { balanceOf } from '../core/main-ledger.js';
import { decodeAddress } from '../core/keys.js';
import { Challenges } from './auth.js';
import { Beacons } from './beacons.js';
import { statusOf } from './errors.js';
import { HeaderTree, type TreeHeader } from './header-tree.js';
import type { Push } from './messages.js';
import { RateLimiter, shareOf, type RateLimit } from './rate.js';
import { migrate } from './schema.js';
import type { Sql } from './sql.js';

/** What a request asks: one of the contract's routes, or 'advance' (the runtime's timer or alarm). */
/** `advance`: the timer's wake-up; `frame`: a node socket frame that is no operation (a ping, garbage), which still spends tokens. */
export type EdgeOp = RouteName | 'advance' | 'frame';

/** Operations only an authenticated node may call: the contract's node routes. */
export const NODE_OPS: ReadonlySet<EdgeOp> = new Set(ROUTE_NAMES.filter((n) => ROUTES[n].node));

export interface EdgeLimits {
  /** Per client IP, every request. */
  ip: RateLimit;
  /** Per node key, every authenticated request and every frame a node sends. */
  key: RateLimit;
  challengeTtlMs: number;
  /** Headers per relay request or frame. */
  maxHeadersPerRequest: number;
  /** A relayed branch must end within this many tip-difficulty blocks of the best tip's work. */
  forkMarginBlocks: number;
  /** Node sockets one address may hold open (per sector hub on Workers). */
  maxSocketsPerIp: number;
  /** Headers off the best chain kept per sector, and per relaying key. */
  maxSideHeaders: number;
  maxSideHeadersPerKey: number;
  /** Assignments one request or wake-up makes at most; the rest follow on an immediate wake-up. */
  maxAssignmentsPerCall: number;
}

/** Generous defaults: a devnet, its tests and benchmarks never meet them; a flood does. */
export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  ip: { burst: 1200, perMinute: 6000 },
  key: { burst: 2400, perMinute: 12_000 },
  challengeTtlMs: 60_000,
  maxHeadersPerRequest: 2000,
  forkMarginBlocks: 12,
  maxSocketsPerIp: 16,
  maxSideHeaders: 4096,
  maxSideHeadersPerKey: 512,
  maxAssignmentsPerCall: 256,
};

export interface EdgeRequest {
  op: EdgeOp;
  /** Client address for the per-IP limit; absent for internal calls (timers, alarms). */
  ip?: string;
  /** Path parameters: sector, txid, window. */
  params?: Record<string, string>;
  body?: unknown;
  /** The request as sent, which a node's signature must cover (api/auth.ts). */
  signed?: AuthRequest;
  /** Authentication as presented (node-only operations). */
  auth?: AuthInput;
  /** A key the runtime already authenticated (a node's socket); never taken from HTTP input. */
  nodeKey?: string;
}

export interface EdgeResponse {
  status: number;
  body: unknown;
  pushes: Push[];
  /** When to call again with op 'advance'; null when nothing waits on the clock; absent on refusals (unknown). */
  wakeAtMs?: number | null;
  /** Seconds to wait, on 429. */
  retryAfterS?: number;
}

export interface CoordinatorOptions {
  spec: NetworkSpec;
  limits?: Partial<EdgeLimits>;
  /** The clock, ms since the Unix epoch. */
  now?: () => number;
  /** Random bytes for challenges. */
  randomBytes?: (n: number) => Uint8Array;
  /** ed25519 verification of tx and node signatures (default core's strict `verify`); must accept exactly what it accepts. */
  verify?: Verifier;
}

function tipJson(t: TreeHeader): TipJson {
  return {
    sectorId: t.sectorId,
    id: toHex(t.id),
    height: t.height,
    timeMs: t.header.timeMs,
    mtpMs: t.mtpMs,
    cumulativeWork: t.work.toString(),
    header: toHex(encodeHeader(t.header)),
  };
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

export class Coordinator {
  readonly spec: NetworkSpec;
  readonly networkId: Uint8Array;
  readonly limits: EdgeLimits;
  private readonly now: () => number;
  private readonly randomBytes: (n: number) => Uint8Array;
  private readonly tree: HeaderTree;
  private readonly beacons: Beacons;
  private readonly assignments: Assignments;
  private readonly fold: MainFold;
  private readonly tasks: EdgeTasks;
  private readonly challenges: Challenges;
  private readonly rate: RateLimiter;
  /** When a write last failed for want of space. */
  private storageFullAtMs?: number;
  private readonly genesisIds: Map<number, string>;
  private readonly parseLimits: ParseLimits;

  /** Migrates the schema, checks the database belongs to this network, and seeds genesis headers. */
  constructor(
    private readonly sql: Sql,
    options: CoordinatorOptions,
  ) {
    const problems = specProblems(options.spec);
    if (problems.length > 0) throw new PouwError('edge-bad-spec', `the network spec is unusable: ${problems.join('; ')}`);
    this.spec = options.spec;
    this.networkId = networkId(this.spec);
    this.limits = { ...DEFAULT_EDGE_LIMITS, ...options.limits };
    this.parseLimits = { maxHeaders: this.limits.maxHeadersPerRequest };
    this.now = options.now ?? (() => Date.now());
    this.randomBytes = options.randomBytes ?? ((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
    this.tree = new HeaderTree(sql, this.spec);
    this.beacons = new Beacons(sql, this.spec, this.tree, this.networkId);
    this.assignments = new Assignments(sql, this.spec, this.tree, this.beacons, this.networkId, options.verify, this.limits.maxAssignmentsPerCall);
    this.fold = new MainFold(sql, this.spec, this.tree, this.assignments, this.networkId, options.verify);
    this.tasks = new EdgeTasks(sql, this.spec, this.assignments, () => this.fold.state().ledger);
    this.challenges = new Challenges(sql, this.networkId, this.limits.challengeTtlMs, options.verify);
    this.rate = new RateLimiter({ ip: this.limits.ip, key: this.limits.key, share: shareOf(this.limits.ip) });
    this.genesisIds = new Map(this.spec.sectors.map((s) => [s.id, toHex(genesisId(this.spec, s))]));
    migrate(sql);
    sql.transaction(() => {
      const id = toHex(this.networkId);
      const stored = sql.one<{ value: string }>("SELECT value FROM edge_meta WHERE key = 'network_id'");
      if (stored === undefined) sql.run("INSERT INTO edge_meta (key, value) VALUES ('network_id', ?)", id);
      else if (stored.value !== id) {
        throw new PouwError('edge-network-mismatch', `this database belongs to network ${stored.value}, not ${id} (${this.spec.name})`);
      }
      this.tree.seed(this.now());
    });
  }

  /** Runs one request as one transaction (see the module header). */
  handle(req: EdgeRequest): EdgeResponse {
    const nowMs = this.now();
    // Each step runs in a savepoint of the step before it: a refusal undoes its own step and
    // everything after it, and keeps what the steps before it wrote (tokens, a spent challenge).
    const step = (fn: () => EdgeResponse): EdgeResponse => {
      try {
        return this.sql.transaction(fn);
      } catch (e) {
        if (e instanceof PouwError) return failure(e);
        // SQLite may roll the whole transaction back on a full disk: the savepoints around are gone too.
        if (isStorageFull(e)) full = true;
        throw e;
      }
    };
    let full = false;
    try {
      return this.steps(req, nowMs, step);
    } catch (e) {
      // The transaction rolled back: the fold's cached ledger may be ahead of the database.
      this.fold.reset();
      if (!full) throw e;
      this.storageFullAtMs = nowMs;
      return failure(new PouwError('storage-full', 'the edge cannot write: its storage is full; reads still work'));
    }
  }

  /** The steps of one request (see `handle`): a socket key's share of its IP, the IP's token, authentication and the key's token, then the operation. */
  private steps(req: EdgeRequest, nowMs: number, step: (fn: () => EdgeResponse) => EdgeResponse): EdgeResponse {
    return step(() => {
      // A socket's key is known before anything is spent: its share of the address comes first.
      if (req.ip !== undefined && req.nodeKey !== undefined) this.rate.take('share', `${req.ip}|${req.nodeKey}`, nowMs);
      if (req.ip !== undefined) this.rate.take('ip', req.ip, nowMs);
      return step(() => {
        let nodeKey = req.nodeKey ?? null;
        if (nodeKey === null && req.op === 'socket') {
          // A socket is opened with a ticket that a signed request got, never with a signature in its URL.
          nodeKey = this.challenges.consumeTicket(req.params?.ticket, sectorOf(this.spec, req.params?.sector).id, nowMs);
        } else if (nodeKey === null && NODE_OPS.has(req.op)) {
          nodeKey = this.challenges.consume(req.auth, req.signed, nowMs);
        }
        if (nodeKey !== null) this.rate.take('key', nodeKey, nowMs);
        return step(() => {
          const pushes: Push[] = [];
          const answer = this.dispatch(req, nodeKey, nowMs, pushes);
          pushes.push(...this.assignments.assignDue(nowMs));
          pushes.push(...this.assignments.pushFallbacks(nowMs));
          // A window is decided only when best chains move: after a relay or a wake-up.
          if (req.op === 'headers' || req.op === 'advance') {
            try {
              this.fold.advance(nowMs);
            } catch (e) {
              this.fold.reset();
              throw e;
            }
          }
          return { status: answer.status, body: answer.body, pushes, wakeAtMs: this.assignments.nextWakeMs(nowMs) };
        });
      });
    });
  }

  private dispatch(req: EdgeRequest, nodeKey: string | null, nowMs: number, pushes: Push[]): Answer {
    const p = req.params ?? {};
    switch (req.op) {
      case 'health': {
        // Reads and health keep working on a full disk; health says so for a minute after a write failed.
        const degraded = this.storageFullAtMs !== undefined && nowMs - this.storageFullAtMs < DEGRADED_FOR_MS;
        return {
          status: 200,
          body: { ok: !degraded, service: 'pouw-edge', network: this.spec.name, networkId: toHex(this.networkId), ...(degraded ? { degraded: 'storage-full' } : {}) },
        };
      }
      case 'sectors':
        return { status: 200, body: this.sectorsJson(nowMs) };
      case 'tip':
        return { status: 200, body: tipJson(this.tree.tip(sectorOf(this.spec, p.sector).id)) };
      case 'header-range': {
        const sector = sectorOf(this.spec, p.sector);
        const from = decimalOf(p.from ?? '0', 'from', 0, Number.MAX_SAFE_INTEGER);
        const count = decimalOf(p.count ?? String(this.limits.maxHeadersPerRequest), 'count', 1, this.limits.maxHeadersPerRequest);
        const headers = this.tree.range(sector.id, from, count).map(headerJson);
        const body: HeaderRangeJson = { sectorId: sector.id, from, headers, tip: tipJson(this.tree.tip(sector.id)) };
        return { status: 200, body };
      }
      case 'headers': {
        const sector = sectorOf(this.spec, p.sector);
        return this.relayHeaders(sector, relayBody.parse(req.body, this.parseLimits).headers, nodeKey, nowMs, pushes);
      }
      case 'socket':
        return { status: 200, body: { sectorId: sectorOf(this.spec, p.sector).id, key: nodeKey } };
      case 'beacon': {
        // Not a refusal but an answer: the beacons computed on the way (a catch-up) are kept.
        const r = this.beacons.tryGet(decimalOf(p.window, 'window', 0, Number.MAX_SAFE_INTEGER), nowMs);
        return r.ok ? { status: 200, body: r.value } : { status: statusOf(r.code), body: errorBody(r.code, r.message) };
      }
      case 'main-submit':
        return this.assignments.submitMain(mainSubmitBody.parse(req.body, this.parseLimits), nowMs);
      case 'main-status':
        return this.assignments.status('main', p.txid);
      case 'main-record':
        return this.assignments.reportRecord('main', p.txid, () => recordBody.parse(req.body, this.parseLimits), nodeKey!, nowMs);
      case 'conversion-submit':
        return this.assignments.submitConversion(conversionBody.parse(req.body, this.parseLimits), nowMs);
      case 'conversion-status':
        return this.assignments.status('witness', p.txid);
      case 'conversion-record':
        return this.assignments.reportRecord('witness', p.txid, () => recordBody.parse(req.body, this.parseLimits), nodeKey!, nowMs);
      case 'main-windows': {
        const after = decimalOrMinus(p.after, 'after');
        const limit = decimalOf(p.limit ?? String(MAX_WINDOW_LIST), 'limit', 1, MAX_WINDOW_LIST);
        const body: WindowListJson = { windows: this.assignments.windowsWithTxs(after, limit) };
        return { status: 200, body };
      }
      case 'main-window': {
        const w = decimalOf(p.window, 'window', 0, Number.MAX_SAFE_INTEGER);
        const data = this.assignments.windowData(w);
        if (data === undefined) reject('window-not-assigned', `some tx of window ${w} has no beacon yet`);
        return { status: 200, body: windowDataJson(data, this.fold.rootAt(w)) };
      }
      case 'main-state': {
        const { ledger, root } = this.fold.state();
        return { status: 200, body: mainStateJson(ledger, root, this.fold.decidedThrough()) };
      }
      case 'task-submit':
        return this.tasks.submit(taskSubmitBody.parse(req.body), nowMs);
      case 'task-list':
        return { status: 200, body: this.tasks.list(p.sector, p.state, nowMs) };
      case 'task-status':
        return { status: 200, body: this.tasks.get(toHex(txidOf(p.txid)), nowMs) };
      case 'main-account': {
        const a = decodeAddress(String(p.address ?? ''), this.spec.addressPrefix);
        if (!a.ok) reject('bad-address', `${p.address} is not a ${this.spec.addressPrefix} address (${a.code})`);
        const { ledger } = this.fold.state();
        const acct = balanceOf(ledger, a.value);
        const body: MainAccountJson = { address: toHex(a.value), balance: acct.balance.toString(), nonce: acct.nonce.toString(), window: ledger.window };
        return { status: 200, body };
      }
      case 'challenge':
        return { status: 201, body: this.challenges.issue(this.randomBytes(32), req.auth?.key, nowMs) };
      case 'socket-ticket':
        return { status: 201, body: this.challenges.issueTicket(this.randomBytes(32), nodeKey!, sectorOf(this.spec, p.sector).id, nowMs) };
      case 'advance':
      case 'frame':
        return { status: 200, body: { ok: true } };
      default:
        return reject('not-found', `no operation ${String((req as { op: unknown }).op)}`);
    }
  }

  /**
   * Checks and stores a batch of headers in order; one refusal refuses the
   * batch. A batch must leave its branch within the fork margin of the best
   * tip's work, and may not push the side-branch headers of the sector, or of
   * its relayer, past their caps; only headers the batch placed on the best
   * chain (a reorg's whole branch) are fanned out.
   */
  private relayHeaders(sector: SectorParams, list: WorkHeader[], nodeKey: string | null, nowMs: number, pushes: Push[]): Answer {
    const accepted: RelayJson['accepted'] = [];
    const fresh: TreeHeader[] = [];
    /** Headers this batch put on the best chain, by hex id (a reorg's branch includes side headers stored before). */
    const placed = new Map<string, TreeHeader>();
    const before = this.tree.tip(sector.id);
    const margin = BigInt(this.limits.forkMarginBlocks) * this.tree.tipBlockWork(sector.id);
    for (let i = 0; i < list.length; i++) {
      try {
        const r = this.tree.accept(list[i]!.header, sector, nowMs, nodeKey, list[i]!.workProof);
        accepted.push({ id: toHex(r.header.id), height: r.header.height, status: r.status });
        if (r.status === 'new') fresh.push(r.header);
        for (const h of r.placed ?? []) placed.set(toHex(h.id), h);
      } catch (e) {
        if (e instanceof PouwError && list.length > 1) throw new PouwError(e.code, `headers[${i}]: ${e.message}`);
        throw e;
      }
    }
    const last = fresh[fresh.length - 1];
    if (last !== undefined) {
      // Cheap headers far below the best chain cost us storage and every node a fan-out, and can never matter.
      if (last.work + margin < before.work) {
        reject('low-work-branch', `the branch ends ${before.work - last.work} work below the best tip, more than the ${this.limits.forkMarginBlocks}-block margin`);
      }
      if (!this.tree.onBest(last)) {
        const side = this.tree.sideHeaders(sector.id);
        if (side > this.limits.maxSideHeaders) reject('side-branch-full', `sector ${sector.slug} holds ${side} headers off its best chain`);
        if (nodeKey !== null) {
          const mine = this.tree.sideHeaders(sector.id, nodeKey);
          if (mine > this.limits.maxSideHeadersPerKey) reject('side-branch-full', `this key relayed ${mine} headers off the best chain of ${sector.slug}`);
        }
      }
    }
    // What the nodes' views need to follow the best chain: every header the batch placed on it that is still there, in height order.
    const best = this.tree.onBestOf([...placed.values()].sort((a, b) => a.height - b.height));
    if (best.length > 0) {
      pushes.push({ sectors: this.spec.sectors.map((s) => s.id), message: { type: 'headers', sectorId: sector.id, headers: best.map(headerJson) } });
    }
    const body: RelayJson = { sectorId: sector.id, accepted, tip: tipJson(this.tree.tip(sector.id)) };
    return { status: 200, body };
  }

  private sectorsJson(nowMs: number): SectorsJson {
    const m = this.spec.main;
    return {
      network: this.spec.name,
      networkId: toHex(this.networkId),
      genesisTimeMs: this.spec.genesisTimeMs,
      window: windowOf(nowMs, this.spec.genesisTimeMs, m.windowMs),
      main: {
        windowMs: m.windowMs,
        recordSectors: m.recordSectors,
        witnessSectors: m.witnessSectors,
        mainConfirmations: m.mainConfirmations,
        beaconDepth: m.beaconDepth,
        recordWindows: m.recordWindows,
        fallbackWindows: m.fallbackWindows,
        tollBps: m.tollBps,
      },
      sectors: this.spec.sectors.map((s) => ({
        id: s.id,
        slug: s.slug,
        name: s.name,
        symbol: s.symbol,
        decimals: s.decimals,
        blockTimeMs: s.blockTimeMs,
        asertHalfLifeMs: s.asertHalfLifeMs,
        powLimitBits: hex8(s.powLimitBits),
        genesisBits: hex8(s.genesisBits),
        selectionWeight: s.selectionWeight,
        workKinds: [...s.workKinds],
        genesisId: this.genesisIds.get(s.id)!,
        tip: tipJson(this.tree.tip(s.id)),
      })),
    };
  }
}

/** A window bound of a query: a decimal ≥ −1 (−1, the default, lists from the first window). */
function decimalOrMinus(v: string | undefined, what: string): number {
  if (v === undefined || v === '-1') return -1;
  return decimalOf(v, what, 0, Number.MAX_SAFE_INTEGER);
}

/** A write refused because the disk (or the storage quota) is full: SQLITE_FULL on either driver. */
function isStorageFull(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err?.code === 'SQLITE_FULL' || /SQLITE_FULL|database or disk is full/i.test(String(err?.message ?? ''));
}

/** How long after a refused write health still says degraded. */
const DEGRADED_FOR_MS = 60_000;

function failure(e: PouwError): EdgeResponse {
  const retryAfterS = (e.details as { retryAfterS?: number } | undefined)?.retryAfterS;
  return { status: statusOf(e.code), body: errorBody(e.code, e.message), pushes: [], ...(retryAfterS ? { retryAfterS } : {}) };
}
