/**
 * How `pouw devnet` shows what it sees: a table redrawn in place on stderr
 * when stderr is a terminal, a status line every few seconds otherwise, or
 * NDJSON events on stdout with `--json`; and the closing summary (stdout).
 * It only formats: the devnet (cli/devnet.ts) gathers the figures.
 * @module
 */
import { bitsToTarget, workForTarget } from '../core/target.js';
import { formatAmount } from '../core/amount.js';
import type { StreamFigures as EconomyFigures } from './devnet-stream.js';
import { formatTable, type Output } from './output.js';

/** Without a terminal, a status line this often. */
const PLAIN_EVERY_MS = 5000;

export interface SectorRow {
  id: number;
  sector: string;
  /** Kernel backend(s) its miners use. */
  backend: string;
  /** Best height among its nodes. */
  height: number;
  /** Blocks since the last run stopped (or since genesis). */
  blocks: number;
  /** Best-chain blocks found this run by hashing and by useful work (matmul). */
  work: { hash: number; matmul: number };
  edgeHeight: number;
  /** Compact target of the edge's tip, hex. */
  bits: string;
  /** Expected hashes per block at those bits, short. */
  hashesPerBlock: string;
  /** Sum over its miners, 10 s and 60 s windows. */
  hashesPerSecond: number;
  hashesPerSecond60s: number;
  /** Peer count of each node. */
  peers: number[];
  nodesUp: number;
  nodes: number;
  /** Nodes whose edge link is open. */
  edgeLinks: number;
  accepted: number;
  rejected: number;
}

export interface BeaconSeen {
  window: number;
  beacon: string;
  anchors: { sectorId: number; height: number }[];
}

export interface DevnetSnapshot extends EconomyFigures {
  dataDir: string;
  edgeUrl: string;
  upS: number;
  window: number;
  sectors: SectorRow[];
  beacon: BeaconSeen | null;
  beaconsThisRun: number;
  assignments: { accepted: number; rejected: number };
}

export interface DevnetSummary extends EconomyFigures {
  reason: string;
  clean: boolean;
  data: string;
  resumed: boolean;
  genesisTimeMs: number;
  runMs: number;
  /** `hashesPerSecond` is the 60 s figure here. */
  sectors: (Pick<SectorRow, 'id' | 'sector' | 'backend' | 'height' | 'edgeHeight' | 'bits' | 'hashesPerSecond'> & {
    /** Height gained this run. */
    mined: number;
    /** Best-chain blocks of this run by work kind. */
    blocks: SectorRow['work'];
    assignmentsAccepted: number;
    assignmentsRejected: number;
  })[];
  beacons: { latest: BeaconSeen | null; publishedThisRun: number };
  assignments: { accepted: number; rejected: number };
  nodes: { name: string; exitCode: number | null; signal: string | null }[];
}

/** Hashes per second with a unit. */
export function formatHashRate(hps: number): string {
  if (hps >= 1e9) return `${(hps / 1e9).toFixed(2)} GH/s`;
  if (hps >= 1e6) return `${(hps / 1e6).toFixed(2)} MH/s`;
  return `${(hps / 1e3).toFixed(1)} kH/s`;
}

/** Expected hashes per block of compact `bits`, short (e.g. "81.2M"). */
export function formatWork(bits: number): string {
  const t = bitsToTarget(bits);
  if (!t.ok) return '?';
  const w = Number(workForTarget(t.value));
  for (const [v, u] of [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (w >= v) return `${(w / v).toFixed(1)}${u}`;
  }
  return String(Math.round(w));
}

function tableText(s: DevnetSnapshot): string {
  const rows = [['sector', 'kernel', 'height', 'useful', 'edge', 'bits', 'hashes/block', 'hashrate', 'peers', 'nodes', 'assignments']];
  for (const r of s.sectors) {
    rows.push([
      r.sector,
      r.backend,
      String(r.height),
      usefulText(r.work),
      String(r.edgeHeight),
      r.bits,
      r.hashesPerBlock,
      formatHashRate(r.hashesPerSecond),
      r.peers.join(','),
      `${r.nodesUp}/${r.nodes}${r.edgeLinks < r.nodesUp ? ` (${r.nodesUp - r.edgeLinks} off edge)` : ''}`,
      `${r.accepted} ok${r.rejected ? `, ${r.rejected} refused` : ''}`,
    ]);
  }
  const b = s.beacon;
  return [
    `devnet  ${s.dataDir}  edge ${s.edgeUrl}  window ${s.window}  up ${s.upS} s  (Ctrl-C stops)`,
    formatTable(rows, '  '),
    `beacon  ${b ? `R_${b.window} ${b.beacon.slice(0, 16)}… anchors ${b.anchors.map((a) => a.height).join('/')}` : 'none yet'}  (${s.beaconsThisRun} this run)`,
    ...economyLines(s, '  '),
    `        nodes took ${s.assignments.accepted} assignments, refused ${s.assignments.rejected}`,
  ].join('\n');
}

/** "3/40 (8%)": blocks found by useful work of all found this run. */
function usefulText(w: SectorRow['work']): string {
  const all = w.hash + w.matmul;
  return all === 0 ? '-' : `${w.matmul}/${all} (${Math.round((100 * w.matmul) / all)}%)`;
}

const main = (units: string) => `${formatAmount(BigInt(units), 8)} MAIN`;

/** MAIN txs, conversions and prices, balances and the treasury, root agreement and settlements. */
function economyLines(s: EconomyFigures, pad: string): string[] {
  const prices = Object.entries(s.prices).map(([slug, p]) => `${slug} ${formatAmount(BigInt(p), 8)}`);
  return [
    `MAIN  ${pad}${s.main.submitted} submitted, ${s.main.final} final, ${s.main.void} void, ${s.main.applied} applied on the nodes`,
    `conv  ${pad}${s.conversions.submitted} submitted, ${s.conversions.witnessed} witnessed, ${s.conversions.minted} minted${s.conversions.void ? `, ${s.conversions.void} void` : ''}; last price MAIN/token: ${prices.join(', ') || 'none yet'}`,
    `bal   ${pad}${s.accounts.map((a) => `${a.name.replace(/^devnet-/, '')} ${main(a.main)}`).join(', ')}; treasury ${main(s.treasury)}`,
    `roots ${pad}${s.roots.agree} of ${s.roots.nodes} nodes agree with the edge's root${s.roots.mismatches ? `; ${s.roots.mismatches} MISMATCHED windows` : ''}`,
    `paid  ${pad}${s.settlements.applied} of ${s.settlements.owed} releases settled on the sector chains${s.settlements.held ? `; ${s.settlements.held} block(s) held for a fold` : ''}`,
    `tasks ${pad}${s.tasks.submitted} submitted, ${s.tasks.final} final (scheduled), ${s.tasks.expired} expired and refunded${s.tasks.void ? `, ${s.tasks.void} void` : ''}`,
  ];
}

function plainLine(s: DevnetSnapshot): string {
  const parts = s.sectors.map((r) => `${r.sector} ${r.height} (${formatHashRate(r.hashesPerSecond)})`);
  return `devnet  ${parts.join('  ')}  beacon ${s.beacon ? `R_${s.beacon.window}` : '-'}  MAIN ${s.main.submitted}/${s.main.final}/${s.main.void}/${s.main.applied} submitted/final/void/applied  conv ${s.conversions.submitted}/${s.conversions.witnessed}/${s.conversions.minted} submitted/witnessed/minted  roots ${s.roots.agree}/${s.roots.nodes} agree`;
}

export class DevnetView {
  private readonly tty: boolean;
  private drawnLines = 0;
  private lastPlainMs = 0;
  private last?: DevnetSnapshot;

  constructor(
    private readonly out: Output,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !out.json && stderr.isTTY === true;
  }

  /** An NDJSON event with --json; otherwise its text, if any, as a log line above the live table. */
  event(type: string, fields: object, text?: string): void {
    if (this.out.json) {
      this.out.resultJson({ type, timeMs: Date.now(), ...fields });
      return;
    }
    if (text === undefined) return;
    this.clear();
    this.out.log(text);
    this.draw();
  }

  /** The figures of one tick: a `status` event, the redrawn table, or (now and then) a line. */
  update(s: DevnetSnapshot): void {
    this.last = s;
    if (this.out.json) {
      const { sectors, beacon, main, conversions, prices, accounts, treasury, roots, settlements, tasks, assignments } = s;
      this.out.resultJson({ type: 'status', timeMs: Date.now(), sectors, beacon, main, conversions, prices, accounts, treasury, roots, settlements, tasks, assignments });
    } else if (this.tty) {
      this.clear();
      this.draw();
    } else if (Date.now() - this.lastPlainMs >= PLAIN_EVERY_MS) {
      this.lastPlainMs = Date.now();
      this.out.log(plainLine(s));
    }
  }

  /** Takes the table off the screen (before the summary). */
  clear(): void {
    if (!this.tty || this.drawnLines === 0) return;
    this.stderr.write(`\u001b[${this.drawnLines}F\u001b[J`);
    this.drawnLines = 0;
  }

  private draw(): void {
    if (!this.tty || this.last === undefined) return;
    const text = tableText(this.last);
    this.stderr.write(`${text}\n`);
    // Rows on the screen, long lines wrapping included, so the next redraw starts where this one did.
    const columns = this.stderr.columns || 80;
    this.drawnLines = text.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / columns)), 0);
  }

  summary(s: DevnetSummary): void {
    this.clear();
    if (this.out.json) {
      this.out.resultJson({ type: 'summary', timeMs: Date.now(), ...s });
      return;
    }
    const rows = [['sector', 'kernel', 'height', 'blocks', 'useful', 'edge', 'bits', 'hashrate (60s)']];
    for (const r of s.sectors) rows.push([r.sector, r.backend, String(r.height), String(r.mined), usefulText(r.blocks), String(r.edgeHeight), r.bits, formatHashRate(r.hashesPerSecond)]);
    const b = s.beacons.latest;
    this.out.result(
      [
        `devnet stopped (${s.reason}) after ${(s.runMs / 1000).toFixed(1)} s${s.clean ? '' : ' — NOT cleanly: see the logs'}; data in ${s.data}`,
        formatTable(rows, '  '),
        `beacons  ${b ? `latest R_${b.window} ${b.beacon}` : 'none published'}; ${s.beacons.publishedThisRun} this run`,
        ...economyLines(s, '   '),
        `assign   nodes took ${s.assignments.accepted} assignments, refused ${s.assignments.rejected}`,
      ].join('\n'),
    );
  }
}
