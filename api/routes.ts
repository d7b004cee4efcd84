/**
 * Every route of the edge API, defined once: method, path, whether only an
 * authenticated node may call it, its body limit, the codec of its request
 * body (written by clients, parsed by the server) and the parser of its
 * answer (the server builds the answer as the route's JSON type, clients
 * check what arrives against it). The edge's Hono app registers exactly these
 * routes; the node's edge client, the devnet and the benchmarks call them
 * through api/client.ts. Lodestar's `packages/api` is the model.
 *
 * All paths are under /v1; bytes are lower-case hex, bigints decimal strings.
 * An answer that is not 2xx is an error body (api/errors.ts).
 *
 * Pure: no fetch, no storage, no clock.
 * @module
 */
import type { BodyInclusionProof } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import { HEADER_BYTES, type BlockHeader } from '../core/header.js';
import type { Lock } from '../core/lock.js';
import type { Tx } from '../core/tx.js';
import {
  bigDecimalOf,
  booleanOf,
  HASH_BYTES,
  headerHex,
  headerJsonOf,
  headerOf,
  hexStringOf,
  intOf,
  listOf,
  lockOf,
  MAX_SECTOR_LIST,
  objectOf,
  proofJson,
  proofOf,
  stringOf,
  txOf,
  type HeaderJson,
  type WorkHeader,
  workHeaderHex,
  workHeaderOf,
  type ProofJson,
  type SelectionJson,
} from './codec.js';
import { taskListOf, taskOf, taskSubmitBody, type TaskJson } from './tasks.js';
import { reject } from './errors.js';
import { mainAccountOf, mainStateOf, windowDataOf, windowListOf, type MainAccountJson, type MainStateJson, type WindowListJson } from './main.js';
import type { WindowData } from '../core/main-ledger.js';

// ---- answers: the JSON each route answers with ----

export interface HealthJson {
  ok: boolean;
  service: string;
  network: string;
  networkId: string;
  /** Why the edge is not ok although it answers: `storage-full` (writes are refused). */
  degraded?: string;
}

export interface TipJson {
  sectorId: number;
  id: string;
  height: number;
  timeMs: number;
  mtpMs: number;
  /** Cumulative work from genesis, decimal. */
  cumulativeWork: string;
  header: string;
}

export interface SectorJson {
  id: number;
  slug: string;
  name: string;
  symbol: string;
  decimals: number;
  blockTimeMs: number;
  asertHalfLifeMs: number;
  /** Compact targets as 8 hex digits. */
  powLimitBits: string;
  genesisBits: string;
  selectionWeight: number;
  workKinds: string[];
  genesisId: string;
  tip: TipJson;
}

export interface SectorsJson {
  network: string;
  networkId: string;
  genesisTimeMs: number;
  /** The window the edge's clock is in (−1 before genesis). */
  window: number;
  main: {
    windowMs: number;
    recordSectors: number;
    witnessSectors: number;
    mainConfirmations: number;
    beaconDepth: number;
    recordWindows: number;
    fallbackWindows: number;
    tollBps: number;
  };
  sectors: SectorJson[];
}

export interface HeaderRangeJson {
  sectorId: number;
  from: number;
  headers: HeaderJson[];
  tip: TipJson;
}

export interface RelayJson {
  sectorId: number;
  accepted: { id: string; height: number; status: 'new' | 'known' }[];
  tip: TipJson;
}

export interface AnchorJson {
  sectorId: number;
  id: string;
  height: number;
}

export interface BeaconJson {
  window: number;
  beacon: string;
  prev: string;
  /** The last millisecond of window − 1: the anchors' median-time-past bound. */
  cutoffMs: number;
  anchors: AnchorJson[];
}

export type AssignmentState = 'pending' | 'assigned' | 'final' | 'void';

export interface IntakeJson {
  txid: string;
  window: number;
  status: AssignmentState;
  /** Conversions: the origin sector. */
  origin?: number;
}

export interface RecordJson {
  sectorId: number;
  blockId: string;
  height: number;
  confirmations: number;
  reportedBy: string;
}

export interface AssignmentStatusJson {
  txid: string;
  kind: 'main' | 'conversion';
  tx: string;
  window: number;
  beaconWindow: number;
  status: AssignmentState;
  beacon: string | null;
  /** Primary sectors: they must record (MAIN) or witness (conversion). */
  assigned: number[];
  fallback: number[];
  order: number[];
  records: RecordJson[];
  confirmationsRequired: number;
  final: boolean;
  /** Sectors whose records count so far, in order (core recordProgress): primaries that recorded by their deadline, then fallbacks. */
  counted: number[];
  /** Fallback sectors the edge pushed the tx to after a primary's deadline passed. */
  fallbackSent: number[];
  /** Whether the window is decided on the edge's chains (no block can change the fate any more). */
  decided: boolean;
  origin?: { sectorId: number; blockId: string; height: number; confirmations: number };
}

export interface ChallengeJson {
  challenge: string;
  expiresMs: number;
}

export interface TicketJson {
  ticket: string;
  expiresMs: number;
}

// ---- request bodies: one codec each, used by both sides ----

/** A body codec: `write` builds the JSON a client sends, `parse` is the server's check of it. */
export interface BodyCodec<T> {
  write(value: T): unknown;
  parse(json: unknown, limits: ParseLimits): T;
}

/** Limits the server configures and its parsers apply. */
export interface ParseLimits {
  /** Headers per relay request or frame. */
  maxHeaders: number;
}

/** A header relay: the headers in chain order. */
export const relayBody: BodyCodec<{ headers: WorkHeader[] }> = {
  write: ({ headers }) => ({ headers: headers.map(workHeaderHex) }),
  parse(json, { maxHeaders }) {
    const list = objectOf(json, 'body').headers;
    if (!Array.isArray(list) || list.length === 0 || list.length > maxHeaders) reject('bad-request', `"headers" must be a list of 1..${maxHeaders} hex headers`);
    return { headers: list.map((h, i) => workHeaderOf(h, `headers[${i}]`)) };
  },
};

/** A MAIN tx to route: its signed encoding. */
export const mainSubmitBody: BodyCodec<{ tx: Tx; raw: Uint8Array }> = {
  write: ({ raw }) => ({ tx: toHex(raw) }),
  parse: (json) => txOf(objectOf(json, 'body').tx),
};

/** A record (or witness record) of an assigned tx: the sector's block header and the entry's inclusion proof. */
export interface RecordReport {
  sectorId: number;
  header: BlockHeader;
  proof: BodyInclusionProof;
}

export interface RecordReportJson {
  sectorId: number;
  header: string;
  proof: ProofJson;
}

export function recordReportJson(r: RecordReport): RecordReportJson {
  return { sectorId: r.sectorId, header: headerHex(r.header), proof: proofJson(r.proof) };
}

export const recordBody: BodyCodec<RecordReport> = {
  write: recordReportJson,
  parse(json) {
    const b = objectOf(json, 'body');
    return { sectorId: intOf(b.sectorId, 'sectorId', 1, 0xffffffff), header: headerOf(b.header), proof: proofOf(b.proof) };
  },
};

/**
 * A lock confirmed on its origin (core/lock.ts: a Convert tx, or a recycle
 * entry): the lock in `tx`, its block header and its proof in the txs (or
 * settlements) section.
 */
export interface ConversionReport {
  lock: Lock;
  raw: Uint8Array;
  header: BlockHeader;
  proof: BodyInclusionProof;
}

export const conversionBody: BodyCodec<ConversionReport> = {
  write: (c) => ({ tx: toHex(c.raw), header: headerHex(c.header), proof: proofJson(c.proof) }),
  parse(json) {
    const b = objectOf(json, 'body');
    const { lock, raw } = lockOf(b.tx);
    return { lock, raw, header: headerOf(b.header), proof: proofOf(b.proof) };
  },
};

// ---- answer parsers (clients): the shape of each answer, or `bad-request` ----

const safe = (v: unknown, what: string) => intOf(v, what, 0, Number.MAX_SAFE_INTEGER);
const windowNo = (v: unknown, what: string) => intOf(v, what, -1, Number.MAX_SAFE_INTEGER);
const sectorIdOf = (v: unknown, what: string) => intOf(v, what, 0, 0xffffffff);
const idsOf = (v: unknown, what: string) => listOf(v, what, MAX_SECTOR_LIST).map((x, i) => sectorIdOf(x, `${what}[${i}]`));
const stateOf = (v: unknown, what: string): AssignmentState =>
  v === 'pending' || v === 'assigned' || v === 'final' || v === 'void' ? v : reject('bad-request', `${what} must be pending, assigned, final or void`);

export function healthOf(json: unknown): HealthJson {
  const o = objectOf(json, 'health');
  return {
    ok: booleanOf(o.ok, 'ok'),
    service: stringOf(o.service, 'service'),
    network: stringOf(o.network, 'network'),
    networkId: hexStringOf(o.networkId, 'networkId', HASH_BYTES),
    ...(o.degraded !== undefined ? { degraded: stringOf(o.degraded, 'degraded') } : {}),
  };
}

export function tipOf(json: unknown, what = 'tip'): TipJson {
  const o = objectOf(json, what);
  return {
    sectorId: sectorIdOf(o.sectorId, `${what}.sectorId`),
    id: hexStringOf(o.id, `${what}.id`, HASH_BYTES),
    height: safe(o.height, `${what}.height`),
    timeMs: safe(o.timeMs, `${what}.timeMs`),
    mtpMs: safe(o.mtpMs, `${what}.mtpMs`),
    cumulativeWork: bigDecimalOf(o.cumulativeWork, `${what}.cumulativeWork`),
    header: hexStringOf(o.header, `${what}.header`, HEADER_BYTES),
  };
}

export function sectorsOf(json: unknown): SectorsJson {
  const o = objectOf(json, 'sectors answer');
  const m = objectOf(o.main, 'main');
  const bits = (v: unknown, what: string) => (typeof v === 'string' && /^[0-9a-f]{8}$/.test(v) ? v : reject('bad-request', `${what} must be 8 hex digits`));
  return {
    network: stringOf(o.network, 'network'),
    networkId: hexStringOf(o.networkId, 'networkId', HASH_BYTES),
    genesisTimeMs: safe(o.genesisTimeMs, 'genesisTimeMs'),
    window: windowNo(o.window, 'window'),
    main: {
      windowMs: safe(m.windowMs, 'main.windowMs'),
      recordSectors: safe(m.recordSectors, 'main.recordSectors'),
      witnessSectors: safe(m.witnessSectors, 'main.witnessSectors'),
      mainConfirmations: safe(m.mainConfirmations, 'main.mainConfirmations'),
      beaconDepth: safe(m.beaconDepth, 'main.beaconDepth'),
      recordWindows: safe(m.recordWindows, 'main.recordWindows'),
      fallbackWindows: safe(m.fallbackWindows, 'main.fallbackWindows'),
      tollBps: safe(m.tollBps, 'main.tollBps'),
    },
    sectors: listOf(o.sectors, 'sectors', 1024).map((v, i) => {
      const s = objectOf(v, `sectors[${i}]`);
      const at = `sectors[${i}]`;
      return {
        id: sectorIdOf(s.id, `${at}.id`),
        slug: stringOf(s.slug, `${at}.slug`),
        name: stringOf(s.name, `${at}.name`),
        symbol: stringOf(s.symbol, `${at}.symbol`),
        decimals: safe(s.decimals, `${at}.decimals`),
        blockTimeMs: safe(s.blockTimeMs, `${at}.blockTimeMs`),
        asertHalfLifeMs: safe(s.asertHalfLifeMs, `${at}.asertHalfLifeMs`),
        powLimitBits: bits(s.powLimitBits, `${at}.powLimitBits`),
        genesisBits: bits(s.genesisBits, `${at}.genesisBits`),
        selectionWeight: safe(s.selectionWeight, `${at}.selectionWeight`),
        workKinds: listOf(s.workKinds, `${at}.workKinds`, 8).map((k, j) => stringOf(k, `${at}.workKinds[${j}]`)),
        genesisId: hexStringOf(s.genesisId, `${at}.genesisId`, HASH_BYTES),
        tip: tipOf(s.tip, `${at}.tip`),
      };
    }),
  };
}

export function headerRangeOf(json: unknown): HeaderRangeJson {
  const o = objectOf(json, 'header range');
  return {
    sectorId: sectorIdOf(o.sectorId, 'sectorId'),
    from: safe(o.from, 'from'),
    headers: listOf(o.headers, 'headers', 100_000).map((h, i) => headerJsonOf(h, `headers[${i}]`)),
    tip: tipOf(o.tip),
  };
}

export function relayOf(json: unknown): RelayJson {
  const o = objectOf(json, 'relay answer');
  return {
    sectorId: sectorIdOf(o.sectorId, 'sectorId'),
    accepted: listOf(o.accepted, 'accepted', 100_000).map((v, i) => {
      const a = objectOf(v, `accepted[${i}]`);
      const status = a.status === 'new' || a.status === 'known' ? a.status : reject('bad-request', `accepted[${i}].status must be new or known`);
      return { id: hexStringOf(a.id, `accepted[${i}].id`, HASH_BYTES), height: safe(a.height, `accepted[${i}].height`), status };
    }),
    tip: tipOf(o.tip),
  };
}

export function beaconOf(json: unknown): BeaconJson {
  const o = objectOf(json, 'beacon');
  return {
    window: safe(o.window, 'window'),
    beacon: hexStringOf(o.beacon, 'beacon', HASH_BYTES),
    prev: hexStringOf(o.prev, 'prev', HASH_BYTES),
    cutoffMs: intOf(o.cutoffMs, 'cutoffMs', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    anchors: listOf(o.anchors, 'anchors', 1024).map((v, i) => {
      const a = objectOf(v, `anchors[${i}]`);
      return { sectorId: sectorIdOf(a.sectorId, `anchors[${i}].sectorId`), id: hexStringOf(a.id, `anchors[${i}].id`, HASH_BYTES), height: safe(a.height, `anchors[${i}].height`) };
    }),
  };
}

export function intakeOf(json: unknown): IntakeJson {
  const o = objectOf(json, 'intake answer');
  return {
    txid: hexStringOf(o.txid, 'txid', HASH_BYTES),
    window: windowNo(o.window, 'window'),
    status: stateOf(o.status, 'status'),
    ...(o.origin !== undefined ? { origin: sectorIdOf(o.origin, 'origin') } : {}),
  };
}

export function assignmentStatusOf(json: unknown): AssignmentStatusJson {
  const o = objectOf(json, 'status');
  const kind = o.kind === 'main' || o.kind === 'conversion' ? o.kind : reject('bad-request', 'kind must be main or conversion');
  const out: AssignmentStatusJson = {
    txid: hexStringOf(o.txid, 'txid', HASH_BYTES),
    kind,
    tx: stringOf(o.tx, 'tx'),
    window: windowNo(o.window, 'window'),
    beaconWindow: safe(o.beaconWindow, 'beaconWindow'),
    status: stateOf(o.status, 'status'),
    beacon: o.beacon === null ? null : hexStringOf(o.beacon, 'beacon', HASH_BYTES),
    assigned: idsOf(o.assigned, 'assigned'),
    fallback: idsOf(o.fallback, 'fallback'),
    order: idsOf(o.order, 'order'),
    records: listOf(o.records, 'records', 100_000).map((v, i) => {
      const r = objectOf(v, `records[${i}]`);
      const at = `records[${i}]`;
      return {
        sectorId: sectorIdOf(r.sectorId, `${at}.sectorId`),
        blockId: hexStringOf(r.blockId, `${at}.blockId`, HASH_BYTES),
        height: safe(r.height, `${at}.height`),
        confirmations: safe(r.confirmations, `${at}.confirmations`),
        reportedBy: stringOf(r.reportedBy, `${at}.reportedBy`),
      };
    }),
    confirmationsRequired: safe(o.confirmationsRequired, 'confirmationsRequired'),
    final: booleanOf(o.final, 'final'),
    counted: idsOf(o.counted, 'counted'),
    fallbackSent: idsOf(o.fallbackSent, 'fallbackSent'),
    decided: booleanOf(o.decided, 'decided'),
  };
  if (o.origin !== undefined) {
    const g = objectOf(o.origin, 'origin');
    out.origin = {
      sectorId: sectorIdOf(g.sectorId, 'origin.sectorId'),
      blockId: hexStringOf(g.blockId, 'origin.blockId', HASH_BYTES),
      height: safe(g.height, 'origin.height'),
      confirmations: safe(g.confirmations, 'origin.confirmations'),
    };
  }
  return out;
}

export function challengeOf(json: unknown): ChallengeJson {
  const o = objectOf(json, 'challenge answer');
  return { challenge: hexStringOf(o.challenge, 'challenge', HASH_BYTES), expiresMs: safe(o.expiresMs, 'expiresMs') };
}

export function ticketOf(json: unknown): TicketJson {
  const o = objectOf(json, 'ticket answer');
  return { ticket: hexStringOf(o.ticket, 'ticket', HASH_BYTES), expiresMs: safe(o.expiresMs, 'expiresMs') };
}

// ---- the routes ----

export interface RouteDef<Body = undefined, Answer = unknown> {
  method: 'GET' | 'POST';
  /** Hono-style path: `:name` segments are parameters. */
  path: string;
  /** Only an authenticated node may call it (AUTH_HEADERS; the socket: a ticket). */
  node: boolean;
  /** Largest body in bytes: 0 takes none; a negative limit reads up to its size and ignores it. */
  bodyLimit: number;
  /** Query parameters the route reads. */
  query?: readonly string[];
  body?: BodyCodec<Body>;
  /** Checks an answer's JSON (clients); the server builds it as `Answer`. */
  answer(json: unknown): Answer;
}

function route<Body = undefined, Answer = unknown>(def: RouteDef<Body, Answer>): RouteDef<Body, Answer> {
  return def;
}

/** Largest body per kind of route, in bytes. */
export const BODY_LIMITS = {
  tx: 4 * 1024,
  // A batch of hash headers, or a few matmul headers with their work proofs.
  headers: 2 * 1024 * 1024,
  record: 64 * 1024,
  conversion: 64 * 1024,
  empty: 1024,
} as const;

const noAnswer = (json: unknown): unknown => json;

export const ROUTES = {
  health: route<undefined, HealthJson>({ method: 'GET', path: '/v1/health', node: false, bodyLimit: 0, answer: healthOf }),
  sectors: route<undefined, SectorsJson>({ method: 'GET', path: '/v1/sectors', node: false, bodyLimit: 0, answer: sectorsOf }),
  tip: route<undefined, TipJson>({ method: 'GET', path: '/v1/sectors/:sector/tip', node: false, bodyLimit: 0, answer: (j) => tipOf(j) }),
  'header-range': route<undefined, HeaderRangeJson>({
    method: 'GET',
    path: '/v1/sectors/:sector/headers',
    node: false,
    bodyLimit: 0,
    query: ['from', 'count'],
    answer: headerRangeOf,
  }),
  headers: route({ method: 'POST', path: '/v1/sectors/:sector/headers', node: true, bodyLimit: BODY_LIMITS.headers, body: relayBody, answer: relayOf }),
  /** A single-use ticket for the node's socket of this sector (api/auth.ts). */
  'socket-ticket': route<undefined, TicketJson>({ method: 'POST', path: '/v1/sectors/:sector/ws-ticket', node: true, bodyLimit: -BODY_LIMITS.empty, answer: ticketOf }),
  /** The node's socket: a WebSocket upgrade authenticated by its `ticket` query parameter (frames in api/frames.ts). */
  socket: route({ method: 'GET', path: '/v1/sectors/:sector/ws', node: true, bodyLimit: 0, query: ['ticket'], answer: noAnswer }),
  beacon: route<undefined, BeaconJson>({ method: 'GET', path: '/v1/beacon/:window', node: false, bodyLimit: 0, answer: beaconOf }),
  'main-submit': route({ method: 'POST', path: '/v1/main/tx', node: false, bodyLimit: BODY_LIMITS.tx, body: mainSubmitBody, answer: intakeOf }),
  'main-status': route<undefined, AssignmentStatusJson>({ method: 'GET', path: '/v1/main/tx/:txid', node: false, bodyLimit: 0, answer: assignmentStatusOf }),
  'main-record': route({ method: 'POST', path: '/v1/main/tx/:txid/records', node: true, bodyLimit: BODY_LIMITS.record, body: recordBody, answer: assignmentStatusOf }),
  'conversion-submit': route({ method: 'POST', path: '/v1/conversions', node: true, bodyLimit: BODY_LIMITS.conversion, body: conversionBody, answer: intakeOf }),
  'conversion-status': route<undefined, AssignmentStatusJson>({
    method: 'GET',
    path: '/v1/conversions/:txid',
    node: false,
    bodyLimit: 0,
    answer: assignmentStatusOf,
  }),
  'conversion-record': route({
    method: 'POST',
    path: '/v1/conversions/:txid/records',
    node: true,
    bodyLimit: BODY_LIMITS.record,
    body: recordBody,
    answer: assignmentStatusOf,
  }),
  /** Windows after `after` that hold MAIN txs or conversions (at most `limit`, ≤ 1000). */
  'main-windows': route<undefined, WindowListJson>({ method: 'GET', path: '/v1/main/windows', node: false, bodyLimit: 0, query: ['after', 'limit'], answer: windowListOf }),
  /** One window's txs, beacon and record proofs, with the edge's root once folded (api/main.ts). */
  'main-window': route<undefined, { data: WindowData; root: Uint8Array | null }>({ method: 'GET', path: '/v1/main/windows/:window', node: false, bodyLimit: 0, answer: windowDataOf }),
  /** The edge's MAIN fold: last folded window, root, supply, treasury, pools. */
  'main-state': route<undefined, MainStateJson>({ method: 'GET', path: '/v1/main/state', node: false, bodyLimit: 0, answer: mainStateOf }),
  /** An account on the edge's fold (a node computes its own: `pouw main balance`). */
  'main-account': route<undefined, MainAccountJson>({ method: 'GET', path: '/v1/main/accounts/:address', node: false, bodyLimit: 0, answer: mainAccountOf }),
  /** A compute task: its tx (routed as a MAIN tx) and its input blobs (api/tasks.ts). */
  'task-submit': route({ method: 'POST', path: '/v1/tasks', node: false, bodyLimit: BODY_LIMITS.tx, body: taskSubmitBody, answer: intakeOf }),
  /** Tasks the edge knows, newest first (at most 1000), by sector and state. */
  'task-list': route<undefined, { tasks: TaskJson[] }>({ method: 'GET', path: '/v1/tasks', node: false, bodyLimit: 0, query: ['sector', 'state'], answer: taskListOf }),
  'task-status': route<undefined, TaskJson>({ method: 'GET', path: '/v1/tasks/:txid', node: false, bodyLimit: 0, answer: taskOf }),
  /** A challenge for one signed request of the key named in `x-pouw-key`. */
  challenge: route<undefined, ChallengeJson>({ method: 'POST', path: '/v1/auth/challenge', node: false, bodyLimit: -BODY_LIMITS.empty, answer: challengeOf }),
} as const;

export type RouteName = keyof typeof ROUTES;
export type BodyOf<N extends RouteName> = (typeof ROUTES)[N] extends RouteDef<infer B, unknown> ? B : never;
export type AnswerOf<N extends RouteName> = ReturnType<(typeof ROUTES)[N]['answer']>;

/** The route names in table order. */
export const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];

/** The path of `route` with its `:name` segments filled in (URI-encoded); a missing parameter is a programmer error. */
export function routePath(route: RouteDef<unknown, unknown>, params: Readonly<Record<string, string | number>> = {}): string {
  return route.path.replace(/:([a-z]+)/gi, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new RangeError(`${route.path} needs the parameter "${name}"`);
    return encodeURIComponent(String(v));
  });
}

export type { HeaderJson, ProofJson, SelectionJson, TaskJson };
