/**
 * Deterministic genesis blocks and the network id.
 *
 * A sector's genesis block is a pure function of the network spec: its
 * `prevHash` is a tagged hash committing to the network name and time, the
 * sector's parameters, the MAIN parameters, the chain limits and the sector's
 * genesis allocations, so two specs that differ in any consensus number have
 * different genesis ids and their nodes refuse each other at handshake.
 * Genesis needs no proof of work; it is fixed by the spec.
 *
 * network id = H_tag("pouw/network-id", name ‖ genesis id of each sector in id
 * order); transactions sign over it.
 * @module
 */
import { fromHex, fromHexLength, utf8ToBytes } from './bytes.js';
import { encodeWith, type Writer } from './codec.js';
import { bodyRoot, emptyBody, type Block } from './block.js';
import { blockId, HEADER_VERSION, type BlockHeader } from './header.js';
import { TAGS, taggedHash } from './hash.js';
import { ADDRESS_BYTES } from './keys.js';
import { MAX_RECYCLE_ACCOUNTS, type NetworkSpec, type SectorParams } from './params.js';

function writeText(w: Writer, s: string): void {
  w.bytes(utf8ToBytes(s), 128);
}

function writeSector(w: Writer, s: SectorParams): void {
  w.u32(s.id);
  writeText(w, s.slug);
  writeText(w, s.name);
  writeText(w, s.symbol);
  w.u8(s.decimals).u64(BigInt(s.blockTimeMs)).u64(BigInt(s.asertHalfLifeMs));
  w.u32(s.powLimitBits).u32(s.genesisBits).u64(s.initialSubsidy).u64(BigInt(s.halvingInterval));
  w.u32(s.selectionWeight);
  w.list(s.workKinds, 8, (w2, k) => writeText(w2, k));
  w.u32(s.lottery.rank).u32(s.lottery.tileRows).u32(s.lottery.tileCols).u64(s.lottery.macsPerHash);
  w.u64(s.initialReserves.sector).u64(s.initialReserves.main);
  w.list(s.recycle.accounts, MAX_RECYCLE_ACCOUNTS, (w2, a) => w2.fixed(fromHex(a), ADDRESS_BYTES));
  w.u32(s.recycle.bps).u64(BigInt(s.recycle.epochBlocks));
}

/** Canonical bytes of everything a sector's genesis commits to. */
export function genesisCommitment(spec: NetworkSpec, sector: SectorParams): Uint8Array {
  return encodeWith((w) => {
    writeText(w, spec.name);
    writeText(w, spec.addressPrefix);
    w.u64(BigInt(spec.genesisTimeMs));
    writeSector(w, sector);
    const m = spec.main;
    w.u64(BigInt(m.windowMs)).u32(m.recordSectors).u32(m.witnessSectors).u32(m.mainConfirmations);
    w.u32(m.beaconDepth).u32(m.tollBps).u32(m.recordWindows).u32(m.fallbackWindows);
    writeText(w, m.symbol);
    w.u8(m.decimals);
    const l = spec.limits;
    for (const v of [
      l.maxBlockBytes,
      l.maxBlockTxs,
      l.maxSectionEntries,
      l.maxSectionEntryBytes,
      l.maxWorkProofBytes,
      l.maxFutureBlockTimeMs,
      l.medianTimeSpan,
    ]) {
      w.u64(BigInt(v));
    }
    const allocs = genesisAllocations(spec, sector);
    w.list(allocs, 1 << 16, (w2, a) => w2.fixed(a.address, ADDRESS_BYTES).u64(a.amount));
  });
}

/** This sector's genesis balances, in spec order (amounts of 0 omitted). */
export function genesisAllocations(spec: NetworkSpec, sector: SectorParams): { address: Uint8Array; amount: bigint }[] {
  return spec.allocations
    .map((a) => ({ address: fromHexLength(a.address, ADDRESS_BYTES, 'allocation address'), amount: a.amounts[sector.slug] ?? 0n }))
    .filter((a) => a.amount > 0n);
}

export function genesisBlock(spec: NetworkSpec, sector: SectorParams): Block {
  const body = emptyBody(new Uint8Array(ADDRESS_BYTES));
  const header: BlockHeader = {
    version: HEADER_VERSION,
    sectorId: sector.id,
    height: 0,
    prevHash: taggedHash(TAGS.genesis, genesisCommitment(spec, sector)),
    bodyRoot: bodyRoot(body),
    timeMs: spec.genesisTimeMs,
    bits: sector.genesisBits,
    workKind: 'hash',
    nonce: 0n,
  };
  return { header, body, workProof: new Uint8Array(0) };
}

export function genesisId(spec: NetworkSpec, sector: SectorParams): Uint8Array {
  return blockId(genesisBlock(spec, sector).header);
}

export function networkId(spec: NetworkSpec): Uint8Array {
  const sectors = [...spec.sectors].sort((a, b) => a.id - b.id);
  return taggedHash(TAGS.networkId, utf8ToBytes(spec.name), ...sectors.map((s) => genesisId(spec, s)));
}
