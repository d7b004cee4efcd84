/**
 * The edge's configuration from text: a network spec as JSON (bigints as
 * decimal strings), rate limits as JSON, and the environment variables both
 * entries read:
 *
 *   POUW_SPEC          a whole network spec as JSON (`specToJson`)
 *   POUW_GENESIS_TIME  devnet genesis time, ms since the Unix epoch (without POUW_SPEC)
 *   POUW_LIMITS        partial EdgeLimits as JSON, e.g. {"ip":{"burst":50,"perMinute":600}}
 *
 * Neither given: the default devnet (genesis 2026-01-01T00:00:00Z). Bad
 * values throw PouwError `edge-bad-config` naming the field; a spec that
 * parses but is unsound is refused by the coordinator (`edge-bad-spec`).
 * @module
 */
import { PouwError } from '../core/errors.js';
import { devnetSpec, WORK_KINDS, type NetworkSpec, type SectorParams, type WorkKind } from '../core/params.js';
import { DEFAULT_EDGE_LIMITS, type EdgeLimits } from './coordinator.js';
import type { RateLimit } from './rate.js';

export interface EdgeEnv {
  POUW_SPEC?: string;
  POUW_GENESIS_TIME?: string;
  POUW_LIMITS?: string;
}

function bad(what: string, expected: string): never {
  throw new PouwError('edge-bad-config', `${what} must be ${expected}`);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return bad(what, 'JSON');
  }
}

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : bad(what, 'an object'));
const int = (v: unknown, what: string): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : bad(what, 'an integer ≥ 0'));
const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : bad(what, 'a string'));
const big = (v: unknown, what: string): bigint => (typeof v === 'string' && /^\d{1,30}$/.test(v) ? BigInt(v) : bad(what, 'a decimal string'));

/** A spec as JSON, bigints as decimal strings. */
export function specToJson(spec: NetworkSpec): string {
  return JSON.stringify(spec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function sectorFromJson(v: unknown, i: number): SectorParams {
  const w = `spec.sectors[${i}]`;
  const s = obj(v, w);
  const lottery = obj(s.lottery, `${w}.lottery`);
  const reserves = obj(s.initialReserves, `${w}.initialReserves`);
  const recycle = obj(s.recycle, `${w}.recycle`);
  const kinds = Array.isArray(s.workKinds) ? s.workKinds : bad(`${w}.workKinds`, 'a list');
  return {
    id: int(s.id, `${w}.id`),
    slug: str(s.slug, `${w}.slug`),
    name: str(s.name, `${w}.name`),
    symbol: str(s.symbol, `${w}.symbol`),
    decimals: int(s.decimals, `${w}.decimals`),
    blockTimeMs: int(s.blockTimeMs, `${w}.blockTimeMs`),
    asertHalfLifeMs: int(s.asertHalfLifeMs, `${w}.asertHalfLifeMs`),
    powLimitBits: int(s.powLimitBits, `${w}.powLimitBits`),
    genesisBits: int(s.genesisBits, `${w}.genesisBits`),
    initialSubsidy: big(s.initialSubsidy, `${w}.initialSubsidy`),
    halvingInterval: int(s.halvingInterval, `${w}.halvingInterval`),
    selectionWeight: int(s.selectionWeight, `${w}.selectionWeight`),
    workKinds: kinds.map((k, j) => (typeof k === 'string' && k in WORK_KINDS ? (k as WorkKind) : bad(`${w}.workKinds[${j}]`, 'hash or matmul'))),
    lottery: {
      rank: int(lottery.rank, `${w}.lottery.rank`),
      tileRows: int(lottery.tileRows, `${w}.lottery.tileRows`),
      tileCols: int(lottery.tileCols, `${w}.lottery.tileCols`),
      macsPerHash: big(lottery.macsPerHash, `${w}.lottery.macsPerHash`),
    },
    initialReserves: { sector: big(reserves.sector, `${w}.initialReserves.sector`), main: big(reserves.main, `${w}.initialReserves.main`) },
    recycle: {
      accounts: (Array.isArray(recycle.accounts) ? recycle.accounts : bad(`${w}.recycle.accounts`, 'a list')).map((a, j) =>
        typeof a === 'string' && /^[0-9a-f]{40}$/.test(a) ? a : bad(`${w}.recycle.accounts[${j}]`, '40 hex digits'),
      ),
      bps: int(recycle.bps, `${w}.recycle.bps`),
      epochBlocks: int(recycle.epochBlocks, `${w}.recycle.epochBlocks`),
    },
  };
}

/** The spec `specToJson` wrote; every field is type-checked. */
export function specFromJson(text: string): NetworkSpec {
  const o = obj(parseJson(text, 'POUW_SPEC'), 'spec');
  const m = obj(o.main, 'spec.main');
  const l = obj(o.limits, 'spec.limits');
  const sectors = Array.isArray(o.sectors) ? o.sectors : bad('spec.sectors', 'a list');
  const allocations = Array.isArray(o.allocations) ? o.allocations : bad('spec.allocations', 'a list');
  return {
    name: str(o.name, 'spec.name'),
    addressPrefix: str(o.addressPrefix, 'spec.addressPrefix'),
    genesisTimeMs: int(o.genesisTimeMs, 'spec.genesisTimeMs'),
    sectors: sectors.map(sectorFromJson),
    main: {
      windowMs: int(m.windowMs, 'spec.main.windowMs'),
      recordSectors: int(m.recordSectors, 'spec.main.recordSectors'),
      witnessSectors: int(m.witnessSectors, 'spec.main.witnessSectors'),
      mainConfirmations: int(m.mainConfirmations, 'spec.main.mainConfirmations'),
      beaconDepth: int(m.beaconDepth, 'spec.main.beaconDepth'),
      tollBps: int(m.tollBps, 'spec.main.tollBps'),
      recordWindows: int(m.recordWindows, 'spec.main.recordWindows'),
      fallbackWindows: int(m.fallbackWindows, 'spec.main.fallbackWindows'),
      symbol: str(m.symbol, 'spec.main.symbol'),
      decimals: int(m.decimals, 'spec.main.decimals'),
    },
    limits: {
      maxBlockBytes: int(l.maxBlockBytes, 'spec.limits.maxBlockBytes'),
      maxBlockTxs: int(l.maxBlockTxs, 'spec.limits.maxBlockTxs'),
      maxSectionEntries: int(l.maxSectionEntries, 'spec.limits.maxSectionEntries'),
      maxSectionEntryBytes: int(l.maxSectionEntryBytes, 'spec.limits.maxSectionEntryBytes'),
      maxWorkProofBytes: int(l.maxWorkProofBytes, 'spec.limits.maxWorkProofBytes'),
      maxFutureBlockTimeMs: int(l.maxFutureBlockTimeMs, 'spec.limits.maxFutureBlockTimeMs'),
      medianTimeSpan: int(l.medianTimeSpan, 'spec.limits.medianTimeSpan'),
    },
    allocations: allocations.map((a, i) => {
      const x = obj(a, `spec.allocations[${i}]`);
      const amounts = obj(x.amounts, `spec.allocations[${i}].amounts`);
      const address = str(x.address, `spec.allocations[${i}].address`);
      if (!/^[0-9a-f]{40}$/.test(address)) bad(`spec.allocations[${i}].address`, '20 bytes of lower-case hex');
      return { address, amounts: Object.fromEntries(Object.entries(amounts).map(([k, v]) => [k, big(v, `spec.allocations[${i}].amounts.${k}`)])) };
    }),
  };
}

function rateFromJson(v: unknown, what: string, base: RateLimit): RateLimit {
  const o = obj(v, what);
  return {
    burst: o.burst === undefined ? base.burst : int(o.burst, `${what}.burst`),
    perMinute: o.perMinute === undefined ? base.perMinute : int(o.perMinute, `${what}.perMinute`),
  };
}

/** Partial limits as JSON, merged over the defaults. */
export function limitsFromJson(text: string): EdgeLimits {
  const o = obj(parseJson(text, 'POUW_LIMITS'), 'limits');
  const d = DEFAULT_EDGE_LIMITS;
  return {
    ip: o.ip === undefined ? d.ip : rateFromJson(o.ip, 'limits.ip', d.ip),
    key: o.key === undefined ? d.key : rateFromJson(o.key, 'limits.key', d.key),
    challengeTtlMs: o.challengeTtlMs === undefined ? d.challengeTtlMs : int(o.challengeTtlMs, 'limits.challengeTtlMs'),
    maxHeadersPerRequest: o.maxHeadersPerRequest === undefined ? d.maxHeadersPerRequest : int(o.maxHeadersPerRequest, 'limits.maxHeadersPerRequest'),
    maxSocketsPerIp: o.maxSocketsPerIp === undefined ? d.maxSocketsPerIp : int(o.maxSocketsPerIp, 'limits.maxSocketsPerIp'),
    forkMarginBlocks: o.forkMarginBlocks === undefined ? d.forkMarginBlocks : int(o.forkMarginBlocks, 'limits.forkMarginBlocks'),
    maxSideHeaders: o.maxSideHeaders === undefined ? d.maxSideHeaders : int(o.maxSideHeaders, 'limits.maxSideHeaders'),
    maxSideHeadersPerKey: o.maxSideHeadersPerKey === undefined ? d.maxSideHeadersPerKey : int(o.maxSideHeadersPerKey, 'limits.maxSideHeadersPerKey'),
    maxAssignmentsPerCall:
      o.maxAssignmentsPerCall === undefined
        ? d.maxAssignmentsPerCall
        : int(o.maxAssignmentsPerCall, 'limits.maxAssignmentsPerCall') || bad('limits.maxAssignmentsPerCall', 'an integer ≥ 1'),
  };
}

/** The spec the environment names (see the module header). */
export function specFromEnv(env: EdgeEnv): NetworkSpec {
  if (env.POUW_SPEC) return specFromJson(env.POUW_SPEC);
  if (env.POUW_GENESIS_TIME) {
    if (!/^\d{1,15}$/.test(env.POUW_GENESIS_TIME)) bad('POUW_GENESIS_TIME', 'ms since the Unix epoch');
    return devnetSpec(Number(env.POUW_GENESIS_TIME));
  }
  return devnetSpec();
}

export function limitsFromEnv(env: EdgeEnv): EdgeLimits {
  return env.POUW_LIMITS ? limitsFromJson(env.POUW_LIMITS) : { ...DEFAULT_EDGE_LIMITS };
}
