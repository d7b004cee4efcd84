// Fixtures for the edge tests: a devnet spec with trivial targets and short
// windows, chains of mined blocks per sector (bodies kept, for inclusion
// proofs), core's own beacon computation over them, and the two runtimes
// (Node server, Worker in workerd) behind one interface.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beaconAnchor, beaconHash, initialBeacon } from '../../core/beacon.js';
import { bodyRoot, emptyBody, type Block, type BlockBody } from '../../core/block.js';
import { toHex } from '../../core/bytes.js';
import { genesisBlock, networkId } from '../../core/genesis.js';
import { blockId, encodeHeader, type BlockHeader } from '../../core/header.js';
import { devnetSpec, type NetworkSpec, type SectorParams } from '../../core/params.js';
import { medianTimePast, windowEnd } from '../../core/time.js';
import { checkHeaderWork, expectedBits } from '../../core/validate.js';
import { limitsFromJson, specToJson } from '../../edge/config.js';
import type { EdgeLimits } from '../../edge/coordinator.js';
import { startEdge } from '../../edge/node-server.js';

/** Devnet with 1 s windows and genesis bits at the pow limit (a couple of hashes per block). */
export function testSpec(genesisTimeMs: number): NetworkSpec {
  const base = devnetSpec(genesisTimeMs);
  return {
    ...base,
    main: { ...base.main, windowMs: 1000 },
    sectors: base.sectors.map((s) => ({ ...s, genesisBits: s.powLimitBits })),
  };
}

/** A child of `parent` with `body`, at the bits ASERT requires, mined by a nonce loop. */
export function mineBlock(spec: NetworkSpec, sector: SectorParams, parent: BlockHeader, body: BlockBody, timeMs: number): Block {
  let header: BlockHeader = {
    version: 1,
    sectorId: sector.id,
    height: parent.height + 1,
    prevHash: blockId(parent),
    bodyRoot: bodyRoot(body),
    timeMs,
    bits: expectedBits(sector, genesisBlock(spec, sector).header, parent),
    workKind: 'hash',
    nonce: 0n,
  };
  while (!checkHeaderWork(header, sector).ok) header = { ...header, nonce: header.nonce + 1n };
  return { header, body, workProof: new Uint8Array(0) };
}

export const MINER = new Uint8Array(20).fill(7);

/** One linear chain per sector, genesis first. */
export class Chains {
  constructor(
    readonly spec: NetworkSpec,
    private readonly blocks = new Map<number, Block[]>(spec.sectors.map((s) => [s.id, [genesisBlock(spec, s)]])),
  ) {}

  clone(): Chains {
    return new Chains(this.spec, new Map([...this.blocks].map(([k, v]) => [k, [...v]])));
  }

  sector(id: number): SectorParams {
    return this.spec.sectors.find((s) => s.id === id)!;
  }

  chain(id: number): Block[] {
    return this.blocks.get(id)!;
  }

  tip(id: number): Block {
    const c = this.chain(id);
    return c[c.length - 1]!;
  }

  /** Mines one block on a sector's tip, timed now by default (at least 1 ms after the tip). */
  extend(id: number, opts: { timeMs?: number; body?: Partial<BlockBody> } = {}): Block {
    const parent = this.tip(id).header;
    const time = Math.max(opts.timeMs ?? Date.now(), parent.timeMs + 1);
    const b = mineBlock(this.spec, this.sector(id), parent, { ...emptyBody(MINER), ...opts.body }, time);
    this.chain(id).push(b);
    return b;
  }

  /** Blocks on schedule from the tip until `untilMs`. */
  fillUntil(id: number, untilMs: number): Block[] {
    const out: Block[] = [];
    for (let t = this.tip(id).header.timeMs + this.sector(id).blockTimeMs; t <= untilMs; t += this.sector(id).blockTimeMs) {
      out.push(this.extend(id, { timeMs: t }));
    }
    return out;
  }

  /** `count` blocks 1 ms apart starting after `afterMs`: their median-time-past passes it. */
  burstAfter(id: number, afterMs: number, count = 7): Block[] {
    const out: Block[] = [];
    for (let i = 0; i < count; i++) out.push(this.extend(id, { timeMs: afterMs + 1 + i }));
    return out;
  }

  /** Hex headers of a sector from height `from` on. */
  headersHex(id: number, from = 1): string[] {
    return this.chain(id)
      .slice(from)
      .map((b) => toHex(encodeHeader(b.header)));
  }

  /** Core's R_0..R_w over these chains (throws if an anchor is not settled). */
  beacons(w: number): { beacon: string; prev: string; anchors: { sectorId: number; id: string; height: number }[] }[] {
    const span = this.spec.limits.medianTimeSpan;
    const views = this.spec.sectors.map((s) => {
      const times: number[] = [];
      return {
        id: s.id,
        chain: this.chain(s.id).map((b, height) => {
          times.push(b.header.timeMs);
          return { height, id: blockId(b.header), mtpMs: medianTimePast(times, span) };
        }),
      };
    });
    let prev = initialBeacon(networkId(this.spec));
    const out = [];
    for (let v = 0; v <= w; v++) {
      const cutoff = windowEnd(v - 1, this.spec.genesisTimeMs, this.spec.main.windowMs);
      const anchors = views.map((x) => beaconAnchor(x.id, x.chain, cutoff, this.spec.main.beaconDepth));
      if (anchors.some((a) => !a.settled)) throw new Error(`R_${v} is not settled on the test chains`);
      const beacon = beaconHash(v, prev, anchors);
      out.push({ beacon: toHex(beacon), prev: toHex(prev), anchors: anchors.map((a) => ({ sectorId: a.sectorId, id: toHex(a.id), height: a.height })) });
      prev = beacon;
    }
    return out;
  }
}

export interface Runtime {
  name: string;
  /** http://127.0.0.1:port */
  url: string;
  close(): Promise<void>;
}

export async function startNodeRuntime(spec: NetworkSpec, limits?: Partial<EdgeLimits>): Promise<Runtime> {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-edge-'));
  const edge = await startEdge({ port: 0, host: '127.0.0.1', dbPath: join(dir, 'edge.db'), spec, limits });
  return {
    name: 'node',
    url: edge.url,
    close: async () => {
      await edge.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Worker from wrangler.toml in workerd (local, offline, no persistence). */
export async function startWorkerRuntime(spec: NetworkSpec, limits?: Partial<EdgeLimits>): Promise<Runtime> {
  process.env.WRANGLER_HIDE_BANNER = 'true';
  process.env.WRANGLER_SEND_METRICS = 'false';
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  const { unstable_startWorker } = await import('wrangler');
  const bindings: Record<string, { type: 'plain_text'; value: string }> = { POUW_SPEC: { type: 'plain_text', value: specToJson(spec) } };
  // Round-trip through the parser the Worker uses, so both runtimes get the same limits.
  if (limits) bindings.POUW_LIMITS = { type: 'plain_text', value: JSON.stringify(limitsFromJson(JSON.stringify(limits))) };
  const worker = await unstable_startWorker({
    config: join(ROOT, 'wrangler.toml'),
    bindings,
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, persist: false, watch: false, logLevel: 'none' },
  });
  await worker.ready;
  const url = await worker.url;
  return { name: 'worker', url: url.origin, close: () => worker.dispose() };
}
