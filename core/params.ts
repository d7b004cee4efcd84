/**
 * Network specification: the sectors, their tokens and work parameters, the
 * MAIN parameters and the chain-wide limits.
 *
 * Everything a node needs to agree with its peers is in a `NetworkSpec`, and a
 * spec is plain data: the devnet spec below is one value of it, built by a
 * function so that a devnet can pick its own genesis time. Numbers are
 * integers; times and durations are milliseconds; amounts are bigint base
 * units (8 decimals). Nothing here reads the clock.
 * @module
 */
import { toHex, utf8ToBytes } from './bytes.js';
import { sha256 } from './hash.js';
import { addressOf, keyPairFromSeed } from './keys.js';

/** How a block proves work. The header carries the kind as a u32. */
export const WORK_KINDS = { hash: 0, matmul: 1 } as const;
export type WorkKind = keyof typeof WORK_KINDS;

/** The int8 matmul lottery configuration of a sector (DESIGN §4). */
export interface LotteryParams {
  /** Rank of the low-rank noise and width of the k-slices folded into tile states. */
  rank: number;
  tileRows: number;
  tileCols: number;
  /** Multiply-adds that buy the same winning chance as one SHA-256d hash. */
  macsPerHash: bigint;
}

export interface SectorParams {
  /** Numeric id written in headers (u32, ≥ 1; 0 denotes MAIN in transactions). */
  id: number;
  /** Stable textual id used on the command line and in APIs. */
  slug: string;
  name: string;
  /** Token symbol of the sector's own currency. */
  symbol: string;
  decimals: number;
  /** ASERT target spacing. */
  blockTimeMs: number;
  /** ASERT half-life: the target doubles/halves per half-life of schedule drift. */
  asertHalfLifeMs: number;
  /** Compact form of the easiest target allowed. */
  powLimitBits: number;
  /** Compact target of the genesis block, the ASERT anchor. */
  genesisBits: number;
  /** Subsidy of the first block, in base units; halves every `halvingInterval` blocks. */
  initialSubsidy: bigint;
  halvingInterval: number;
  /** Relative chance of being drawn to record MAIN txs or witness conversions (integer ≥ 1). */
  selectionWeight: number;
  workKinds: readonly WorkKind[];
  lottery: LotteryParams;
  /** Constant-product conversion curve reserves at genesis (sector token, MAIN). */
  initialReserves: { sector: bigint; main: bigint };
  /** Mandatory recycling (DESIGN §5, docs/protocol.md §16). */
  recycle: RecycleParams;
}

/**
 * Mandatory recycling: every `epochBlocks` blocks, each named account locks
 * ⌈income · bps / 10,000⌉ of what it received over the epoch (capped by its
 * balance) to the sector treasury, minted to its MAIN address like a conversion.
 */
export interface RecycleParams {
  /** The founder / public-sector accounts (20-byte addresses, hex), in the order their entries are written. */
  accounts: readonly string[];
  bps: number;
  epochBlocks: number;
}

/** Most named accounts a sector may have (their entries ride in one block). */
export const MAX_RECYCLE_ACCOUNTS = 16;

export interface MainParams {
  /** Length of a MAIN window; window 0 starts at the network's genesis time. */
  windowMs: number;
  /** How many sectors must record each MAIN tx (≥ 2). */
  recordSectors: number;
  /** How many sectors witness each conversion (2). */
  witnessSectors: number;
  /** Confirmations each record needs before a MAIN tx is final. */
  mainConfirmations: number;
  /** How deep below the window's last block a sector's beacon input is taken. */
  beaconDepth: number;
  /** Protocol toll on MAIN fees paid out to recording miners, in basis points. */
  tollBps: number;
  /**
   * The recording deadline: a record of a tx of window w counts only in a
   * block of window ≤ w + recordWindows, and blocks refuse older records. A
   * window is decided once every sector's best chain has passed it (docs/protocol.md §19).
   */
  recordWindows: number;
  /** A primary that has not recorded by window w + fallbackWindows loses its place to the next sector of the order. */
  fallbackWindows: number;
  symbol: string;
  decimals: number;
}

export interface ChainLimits {
  /** Largest encoded block body. */
  maxBlockBytes: number;
  maxBlockTxs: number;
  /** Entries per non-transaction body section. */
  maxSectionEntries: number;
  /** Largest single entry of a non-transaction body section. */
  maxSectionEntryBytes: number;
  /** Largest matmul work proof carried beside the body. */
  maxWorkProofBytes: number;
  /** A header's time may be at most this far ahead of the validator's clock. */
  maxFutureBlockTimeMs: number;
  /** Number of blocks whose median is the median-time-past. */
  medianTimeSpan: number;
}

export interface GenesisAllocation {
  /** 20-byte address, hex. */
  address: string;
  /** Base units per sector slug. */
  amounts: Record<string, bigint>;
}

export interface NetworkSpec {
  name: string;
  /** bech32m human prefix of addresses on this network. */
  addressPrefix: string;
  /** Genesis time of every sector and the start of MAIN window 0. */
  genesisTimeMs: number;
  sectors: readonly SectorParams[];
  main: MainParams;
  limits: ChainLimits;
  allocations: readonly GenesisAllocation[];
}

const COIN = 100_000_000n;

export const DEFAULT_LIMITS: ChainLimits = {
  maxBlockBytes: 1 << 20,
  maxBlockTxs: 4096,
  maxSectionEntries: 1024,
  maxSectionEntryBytes: 16 * 1024,
  maxWorkProofBytes: 4 << 20,
  maxFutureBlockTimeMs: 15_000,
  medianTimeSpan: 11,
};

/** The devnet genesis time used when none is given: 2026-01-01T00:00:00Z. */
export const DEVNET_DEFAULT_GENESIS_MS = 1_767_225_600_000;

/**
 * The devnet's public-sector account key seed: SHA-256 of "pouw devnet
 * public sector". Public on purpose, like the faucet's: it is the account
 * every devnet sector names for mandatory recycling, so the recycling can be
 * watched (and its MAIN spent) by anyone trying the devnet.
 */
export function devnetPublicSectorSeed(): Uint8Array {
  return sha256(utf8ToBytes('pouw devnet public sector'));
}

/**
 * The four default sectors with devnet numbers. Block times are short and
 * half-lives are 30 blocks so difficulty settles within a minute or two on one
 * machine; a real network uses half-lives of 200–400 blocks.
 */
export function defaultSectors(): SectorParams[] {
  const common = {
    decimals: 8,
    // Regtest-like limit (expected 2 hashes per block) so a laptop can always mine.
    powLimitBits: 0x207fffff,
    // ~65,536 expected hashes: a fraction of a second on any backend.
    genesisBits: 0x1f00ffff,
    initialSubsidy: 50n * COIN,
    halvingInterval: 210_000,
    workKinds: ['hash', 'matmul'] as const,
    initialReserves: { sector: 1_000_000n * COIN, main: 1_000_000n * COIN },
    // The devnet's public-sector account recycles 10% of its income every 20 blocks (1–2 minutes).
    recycle: { accounts: [toHex(addressOf(keyPairFromSeed(devnetPublicSectorSeed()).publicKey))], bps: 1_000, epochBlocks: 20 },
  };
  return [
    {
      ...common,
      id: 1,
      slug: 'gpu-hi',
      name: 'High-end GPU',
      symbol: 'HGPU',
      blockTimeMs: 4_000,
      asertHalfLifeMs: 30 * 4_000,
      selectionWeight: 4,
      lottery: { rank: 128, tileRows: 64, tileCols: 64, macsPerHash: 1n << 16n },
    },
    {
      ...common,
      id: 2,
      slug: 'gpu-consumer',
      name: 'Consumer GPU',
      symbol: 'CGPU',
      blockTimeMs: 5_000,
      asertHalfLifeMs: 30 * 5_000,
      selectionWeight: 3,
      lottery: { rank: 64, tileRows: 32, tileCols: 32, macsPerHash: 1n << 15n },
    },
    {
      ...common,
      id: 3,
      slug: 'cpu-edge',
      name: 'CPU / edge',
      symbol: 'EDGE',
      blockTimeMs: 6_000,
      asertHalfLifeMs: 30 * 6_000,
      selectionWeight: 2,
      lottery: { rank: 32, tileRows: 16, tileCols: 16, macsPerHash: 1n << 12n },
    },
    {
      ...common,
      id: 4,
      slug: 'accel',
      name: 'AI accelerator',
      symbol: 'ACCL',
      blockTimeMs: 4_000,
      asertHalfLifeMs: 30 * 4_000,
      selectionWeight: 3,
      lottery: { rank: 128, tileRows: 64, tileCols: 64, macsPerHash: 1n << 16n },
    },
  ];
}

export function defaultMainParams(): MainParams {
  return {
    windowMs: 5_000,
    recordSectors: 2,
    witnessSectors: 2,
    mainConfirmations: 3,
    beaconDepth: 2,
    tollBps: 100,
    // Records land 4–6 windows after their tx on the devnet (the beacon waits for
    // every sector's median-time-past): primaries get 8, fallbacks 12 (docs/protocol.md §19).
    recordWindows: 12,
    fallbackWindows: 8,
    symbol: 'MAIN',
    decimals: 8,
  };
}

/**
 * The devnet faucet's key seed: SHA-256 of "pouw devnet faucet". Public on
 * purpose: anyone on a devnet may sign with it (`pouw faucet`), so its
 * genesis funds are for trying things out, never for value.
 */
export function devnetFaucetSeed(): Uint8Array {
  return sha256(utf8ToBytes('pouw devnet faucet'));
}

/** Sector tokens the devnet faucet holds at genesis, in every sector. */
export const DEVNET_FAUCET_TOKENS = 10_000_000n * COIN;

/** The devnet spec; `genesisTimeMs` lets a fresh devnet start its chains "now". Genesis funds the faucet in every sector. */
export function devnetSpec(genesisTimeMs: number = DEVNET_DEFAULT_GENESIS_MS): NetworkSpec {
  const sectors = defaultSectors();
  const faucet = toHex(addressOf(keyPairFromSeed(devnetFaucetSeed()).publicKey));
  return {
    name: 'devnet',
    addressPrefix: 'tpouw',
    genesisTimeMs,
    sectors,
    main: defaultMainParams(),
    limits: { ...DEFAULT_LIMITS },
    allocations: [{ address: faucet, amounts: Object.fromEntries(sectors.map((s) => [s.slug, DEVNET_FAUCET_TOKENS])) }],
  };
}

/** The sector with numeric id or slug `key`, or undefined. */
export function findSector(spec: NetworkSpec, key: number | string): SectorParams | undefined {
  // Digits name an id ("3", as typed on a command line or in a URL); anything else a slug.
  const k = typeof key === 'string' && /^\d{1,10}$/.test(key) ? Number(key) : key;
  return spec.sectors.find((s) => s.id === k || s.slug === k);
}

/** Block subsidy at `height`: initialSubsidy halved every halvingInterval blocks, 0 after 64 halvings. */
export function blockSubsidy(sector: SectorParams, height: number): bigint {
  const halvings = Math.floor(height / sector.halvingInterval);
  return halvings >= 64 ? 0n : sector.initialSubsidy >> BigInt(halvings);
}

/**
 * Structural checks of a spec (programmer/config errors, not consensus):
 * unique ids and slugs, ids ≥ 1, positive durations, MAIN counts that the
 * sectors can satisfy. Returns the list of problems, empty when sound.
 */
export function specProblems(spec: NetworkSpec): string[] {
  const out: string[] = [];
  const ids = new Set<number>();
  const slugs = new Set<string>();
  for (const s of spec.sectors) {
    if (!Number.isInteger(s.id) || s.id < 1 || s.id > 0xffffffff) out.push(`sector ${s.slug}: id must be a u32 ≥ 1`);
    if (ids.has(s.id)) out.push(`sector id ${s.id} is used twice`);
    if (slugs.has(s.slug)) out.push(`sector slug ${s.slug} is used twice`);
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(s.slug)) out.push(`sector slug ${s.slug} is not kebab-case`);
    ids.add(s.id);
    slugs.add(s.slug);
    if (!(s.blockTimeMs > 0) || !(s.asertHalfLifeMs > 0)) out.push(`sector ${s.slug}: durations must be positive`);
    if (!Number.isInteger(s.selectionWeight) || s.selectionWeight < 1) out.push(`sector ${s.slug}: weight must be an integer ≥ 1`);
    if (s.halvingInterval < 1) out.push(`sector ${s.slug}: halvingInterval must be ≥ 1`);
    const r = s.recycle;
    if (!Number.isInteger(r.bps) || r.bps < 0 || r.bps > 10_000) out.push(`sector ${s.slug}: recycle.bps must be within 0..10000`);
    if (!Number.isInteger(r.epochBlocks) || r.epochBlocks < 1) out.push(`sector ${s.slug}: recycle.epochBlocks must be an integer ≥ 1`);
    if (r.accounts.length > MAX_RECYCLE_ACCOUNTS) out.push(`sector ${s.slug}: at most ${MAX_RECYCLE_ACCOUNTS} recycle accounts`);
    if (r.accounts.some((a) => !/^[0-9a-f]{40}$/.test(a))) out.push(`sector ${s.slug}: recycle accounts are 40 hex digits`);
    if (new Set(r.accounts).size !== r.accounts.length) out.push(`sector ${s.slug}: a recycle account is named twice`);
  }
  const m = spec.main;
  if (m.recordSectors < 2) out.push('main.recordSectors must be ≥ 2');
  if (m.witnessSectors !== 2) out.push('main.witnessSectors must be 2');
  // Records and witnesses are drawn among sectors other than the origin.
  if (spec.sectors.length - 1 < Math.max(m.recordSectors, m.witnessSectors)) {
    out.push('too few sectors for recordSectors/witnessSectors excluding the origin');
  }
  if (!(m.windowMs > 0)) out.push('main.windowMs must be positive');
  if (m.tollBps < 0 || m.tollBps > 10_000) out.push('main.tollBps must be within 0..10000');
  if (!Number.isInteger(m.fallbackWindows) || m.fallbackWindows < 1) out.push('main.fallbackWindows must be an integer ≥ 1');
  if (!Number.isInteger(m.recordWindows) || m.recordWindows <= m.fallbackWindows) out.push('main.recordWindows must be an integer above fallbackWindows');
  return out;
}
