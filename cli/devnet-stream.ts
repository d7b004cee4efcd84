/**
 * The devnet's economy stream: a steady flow of what users do, so the
 * devnet shows the MAIN economy working. Every step is one of
 *
 *   - a sector transfer from the genesis-funded faucet to a stream account,
 *     or every other time to the sector's public account (its income is
 *     recycled into MAIN at each epoch's end);
 *   - a conversion: the faucet locks sector tokens for MAIN credited to a
 *     stream account (witnessed by two drawn sectors, minted at the window's
 *     batch price);
 *   - a MAIN transfer between stream accounts, from a balance the nodes' own
 *     MAIN folds hold (one undecided tx per sender, so nonces never race);
 *   - every other round instead of the second transfer, a compute task from
 *     the devnet's own submitter account (funded by every other conversion):
 *     a gemm-i8 task on random matrices sized to the sector's lottery tiles,
 *     its inputs uploaded as blobs, its escrow paid in MAIN. Once final, the
 *     sector's scheduled miner mines by doing it. The submitter keeps its
 *     own next nonce, so several tasks can be undecided at once.
 *
 * Sector txs go to a node of the sector through its local API, MAIN txs to
 * the edge. `poll` follows each to its end: a MAIN tx final or void (the
 * edge's early answer, core `earlyFate`) and applied on the nodes; a
 * conversion witnessed, then minted; and how many nodes' roots agree with
 * the edge's.
 * @module
 */
import { EdgeApi } from '../api/client.js';
import type { MainAccountJson, MainStateJson, SettlementsJson } from '../api/main.js';
import { fromHex } from '../core/bytes.js';
import { addressOf, encodeAddress, keyPairFromSeed, type KeyPair } from '../core/keys.js';
import { devnetFaucetSeed, devnetPublicSectorSeed, type NetworkSpec, type SectorParams } from '../core/params.js';
import { randomBytes } from 'node:crypto';
import { gemmTaskPayload } from '../core/task.js';
import { submitGemmTask } from './task.js';
import { windowOf } from '../core/time.js';
import { encodeTx, MAIN_CHAIN, signTx, TX_VERSION } from '../core/tx.js';
import { nodeRequest, type NodeApi, type NodeStatus } from './node-client.js';
import { submitSectorTx } from './tx.js';

const COIN = 100_000_000n;
/** How long a stream task can be worked on. */
const TASK_DEADLINE_MS = 120_000;

export interface StreamNode {
  sector: SectorParams;
  api: NodeApi;
}

export interface StreamAccount {
  name: string;
  address: string;
  /** MAIN balance on the nodes' fold, base units (decimal). */
  main: string;
}

export interface StreamFigures {
  main: { submitted: number; final: number; void: number; applied: number };
  conversions: { submitted: number; witnessed: number; minted: number; void: number };
  /** MAIN per sector token of each sector's last batch (8 decimals), as the nodes folded it. */
  prices: Record<string, string>;
  accounts: StreamAccount[];
  treasury: string;
  /** Nodes with a MAIN fold; how many agree with the edge's root for their last window, and how many wait for the edge to publish it. */
  roots: { nodes: number; agree: number; pending: number; mismatches: number };
  /** Releases the folds owe the sectors, how many their chains applied (summed over the sectors, one node each), and blocks held for a fold. */
  settlements: { owed: number; applied: number; held: number };
  /** Compute tasks the stream submitted, and what the edge's fold made of them. */
  tasks: { submitted: number; final: number; expired: number; void: number };
}

export type StreamEvent = { type: string } & Record<string, unknown>;

interface Pending {
  kind: 'main' | 'conversion' | 'task';
  sender?: string;
  edgeDone: boolean;
  /** A task's escrow and fee, held back from the submitter's balance until it is decided. */
  held?: bigint;
}

export class EconomyStream {
  private readonly faucet: KeyPair = keyPairFromSeed(devnetFaucetSeed());
  private readonly publicSector = { name: 'devnet-public-sector', key: keyPairFromSeed(devnetPublicSectorSeed()) };
  private readonly pending = new Map<string, Pending>();
  /** Senders with a MAIN tx not yet folded: one at a time keeps nonces in order. */
  private readonly busy = new Set<string>();
  private step = 0;
  /** The submitter's next nonce and the escrow of its undecided tasks. */
  private submitterNext = 0n;
  private submitterHeld = 0n;
  /** Which sector the next task goes to. */
  private taskTurn = 0;
  private readonly figures: StreamFigures = {
    main: { submitted: 0, final: 0, void: 0, applied: 0 },
    conversions: { submitted: 0, witnessed: 0, minted: 0, void: 0 },
    prices: {},
    accounts: [],
    treasury: '0',
    roots: { nodes: 0, agree: 0, pending: 0, mismatches: 0 },
    settlements: { owed: 0, applied: 0, held: 0 },
    tasks: { submitted: 0, final: 0, expired: 0, void: 0 },
  };
  private readonly statuses = new Map<string, NodeStatus>();

  constructor(
    private readonly spec: NetworkSpec,
    private readonly users: { name: string; key: KeyPair }[],
    private readonly nodes: () => StreamNode[],
    private readonly edge: EdgeApi,
    private readonly emit: (e: StreamEvent) => void,
    private readonly submitter: { name: string; key: KeyPair },
  ) {
    // The stream accounts, and the public-sector account whose recycled income becomes MAIN.
    this.figures.accounts = [...users, submitter, this.publicSector].map((u) => ({ name: u.name, address: encodeAddress(addressOf(u.key.publicKey), spec.addressPrefix), main: '0' }));
  }

  get current(): StreamFigures {
    return this.figures;
  }

  private async status(n: StreamNode): Promise<NodeStatus> {
    const known = this.statuses.get(n.api.url);
    if (known) return known;
    const s = await nodeRequest<NodeStatus>(n.api, '/v1/status');
    this.statuses.set(n.api.url, s);
    return s;
  }

  /** One user action, in rotation: sector transfer, conversion, then two MAIN transfers. */
  async next(): Promise<void> {
    const nodes = this.nodes();
    if (nodes.length === 0) return;
    const i = this.step++;
    // Each action walks the sectors and the accounts in turn.
    const round = Math.floor(i / 4);
    const node = nodes[round % nodes.length]!;
    const user = this.users[round % this.users.length]!;
    try {
      switch (i % 4) {
        case 0:
          // Every other round a grant to the sector's public account, whose income mandatory recycling turns into MAIN.
          return await this.sectorTransfer(node, round % 2 === 1 ? this.publicSector : user);
        case 1:
          return await this.conversion(node, round % 2 === 0 ? this.submitter : user);
        case 3:
          // Tasks walk the sectors on their own count (the odd rounds alone would skip half of them).
          if (round % 2 === 1) return await this.task(nodes[this.taskTurn++ % nodes.length]!);
          return await this.mainTransfer(nodes[0]!, i);
        default:
          return await this.mainTransfer(nodes[0]!, i);
      }
    } catch (e) {
      this.emit({ type: 'stream-refused', step: i % 4, code: (e as { code?: string }).code ?? 'error', message: (e as Error).message });
    }
  }

  private async sectorTransfer(n: StreamNode, user: { name: string; key: KeyPair }): Promise<void> {
    const s = await this.status(n);
    const sent = await submitSectorTx(n.api, s, this.faucet, { kind: 'transfer', to: addressOf(user.key.publicKey), amount: 10n * COIN }, COIN / 10_000n);
    this.emit({ type: 'sector-transfer', sector: n.sector.slug, txid: sent.txid, to: user.name });
  }

  private async conversion(n: StreamNode, user: { name: string; key: KeyPair }): Promise<void> {
    const s = await this.status(n);
    const amount = 1000n * COIN;
    const sent = await submitSectorTx(n.api, s, this.faucet, { kind: 'convert', amount, minMain: 0n, mainTo: addressOf(user.key.publicKey) }, COIN / 10_000n);
    this.pending.set(sent.txid, { kind: 'conversion', edgeDone: false });
    this.figures.conversions.submitted++;
    this.emit({ type: 'conversion-submitted', sector: n.sector.slug, txid: sent.txid, amount: amount.toString(), to: user.name });
  }

  private async mainTransfer(n: StreamNode, i: number): Promise<void> {
    const s = await this.status(n);
    // This step's account, or the first one with no undecided tx.
    const mine = this.users[i % this.users.length]!;
    const from = !this.busy.has(mine.name) ? mine : this.users.find((u) => !this.busy.has(u.name));
    if (!from) return;
    const fromAddr = encodeAddress(addressOf(from.key.publicKey), this.spec.addressPrefix);
    const acct = await nodeRequest<MainAccountJson>(n.api, `/v1/main/accounts/${fromAddr}`);
    const fee = COIN / 10_000n;
    const amount = BigInt(acct.balance) / 10n;
    if (amount === 0n) return;
    const to = this.users[(this.users.indexOf(from) + 1) % this.users.length]!;
    const tx = signTx(
      { version: TX_VERSION, chain: MAIN_CHAIN, from: from.key.publicKey, nonce: BigInt(acct.nonce), fee, payload: { kind: 'transfer', to: addressOf(to.key.publicKey), amount } },
      from.key.secretKey,
      fromHex(s.networkId),
    );
    const r = await this.edge.call('main-submit', { body: { tx, raw: encodeTx(tx) } });
    if (!r.ok) {
      this.emit({ type: 'main-refused', code: r.code, message: r.message });
      return;
    }
    this.busy.add(from.name);
    this.pending.set(r.value.txid, { kind: 'main', sender: from.name, edgeDone: false });
    this.figures.main.submitted++;
    this.emit({ type: 'main-submitted', txid: r.value.txid, window: r.value.window, from: from.name, to: to.name, amount: amount.toString() });
  }

  /** A task: final (scheduled) once the edge's fold holds its escrow, then expired at its deadline, or void. */
  private async pollTask(txid: string, p: Pending): Promise<void> {
    const r = await this.edge.call('task-status', { params: { txid } }).catch(() => undefined);
    if (!r?.ok || r.value.state === 'pending') return;
    if (!p.edgeDone) {
      p.edgeDone = true;
      this.submitterHeld -= p.held ?? 0n;
      if (r.value.state === 'void') {
        this.figures.tasks.void++;
        this.pending.delete(txid);
        return this.emit({ type: 'task-void', txid });
      }
      this.figures.tasks.final++;
      this.emit({ type: 'task-final', txid, window: r.value.finalWindow, assigned: r.value.schedule?.assigned ?? [] });
    }
    if (r.value.state === 'expired') {
      this.figures.tasks.expired++;
      this.pending.delete(txid);
      this.emit({ type: 'task-expired', txid });
    }
  }

  /** A gemm-i8 task for the sector of `n`: A (4h × 256) and B (256 × 4w), at most 256 each way, random in [−64, 64]; h×w the sector's tiles. */
  private async task(n: StreamNode): Promise<void> {
    const s = await this.status(n);
    const from = this.submitter;
    const fromAddr = encodeAddress(addressOf(from.key.publicKey), this.spec.addressPrefix);
    // The edge's fold: it leads the nodes', and one node's lagging fold must not stop the stream.
    const got = await this.edge.call('main-account', { params: { address: fromAddr } });
    if (!got.ok) return this.emit({ type: 'stream-refused', step: 3, code: got.code, message: got.message });
    const acct = got.value;
    const escrow = COIN / 2n;
    const fee = COIN / 10_000n;
    // With nothing undecided, the ledger's nonce is the truth (a void task leaves a gap otherwise).
    if (this.submitterHeld === 0n) this.submitterNext = BigInt(acct.nonce);
    const nonce = this.submitterNext > BigInt(acct.nonce) ? this.submitterNext : BigInt(acct.nonce);
    if (BigInt(acct.balance) < this.submitterHeld + escrow + fee) return;
    const { tileRows, tileCols } = n.sector.lottery;
    // k = 256 is at least every devnet sector's rank.
    const [m, k, nn] = [Math.min(4 * tileRows, 256), 256, Math.min(4 * tileCols, 256)];
    const matrix = (len: number) => Int8Array.from(randomBytes(len), (b) => (b % 129) - 64);
    const A = matrix(m * k);
    const B = matrix(k * nn);
    const deadline = windowOf(Date.now() + TASK_DEADLINE_MS, this.spec.genesisTimeMs, this.spec.main.windowMs);
    const payload = gemmTaskPayload({ A, B, m, k, n: nn, sector: n.sector.id, redundancy: 1, escrow, deadline });
    const r = await submitGemmTask(this.edge, from.key, fromHex(s.networkId), { nonce, fee, payload }, A, B);
    if (!r.ok) return this.emit({ type: 'task-refused', code: r.code, message: r.message });
    this.submitterNext = nonce + 1n;
    this.submitterHeld += escrow + fee;
    this.pending.set(r.value.txid, { kind: 'task', edgeDone: false, held: escrow + fee });
    this.figures.tasks.submitted++;
    this.emit({ type: 'task-submitted', txid: r.value.txid, sector: n.sector.slug, dims: [m, k, nn], from: from.name, escrow: escrow.toString() });
  }

  /** Follows pending txs (at most 32 a call), balances, the treasury, prices and roots. */
  async poll(): Promise<void> {
    const nodes = this.nodes();
    const reader = nodes[0];
    if (!reader) return;
    for (const [txid, p] of [...this.pending].slice(0, 32)) {
      if (p.kind === 'task') {
        await this.pollTask(txid, p);
        continue;
      }
      if (!p.edgeDone) {
        const r = await this.edge.call(p.kind === 'main' ? 'main-status' : 'conversion-status', { params: { txid } }).catch(() => undefined);
        if (r?.ok && (r.value.status === 'final' || r.value.status === 'void')) {
          p.edgeDone = true;
          if (p.kind === 'main') this.figures.main[r.value.status]++;
          else if (r.value.status === 'final') this.figures.conversions.witnessed++;
          this.emit({ type: p.kind === 'main' ? `main-${r.value.status}` : r.value.status === 'final' ? 'conversion-witnessed' : 'conversion-unwitnessed', txid, counted: r.value.counted });
        }
      }
      const folded = await nodeRequest<{ status: 'applied' | 'void'; window: number; amount?: string; code?: string }>(reader.api, `/v1/main/tx/${txid}`).catch(() => undefined);
      if (!folded) continue;
      this.pending.delete(txid);
      if (p.sender) this.busy.delete(p.sender);
      if (p.kind === 'main') {
        if (folded.status === 'applied') this.figures.main.applied++;
        this.emit({ type: `main-${folded.status}`, txid, window: folded.window, ...(folded.code ? { code: folded.code } : {}), on: 'nodes' });
      } else {
        if (folded.status === 'applied') this.figures.conversions.minted++;
        else this.figures.conversions.void++;
        this.emit({ type: folded.status === 'applied' ? 'conversion-minted' : 'conversion-void', txid, window: folded.window, amount: folded.amount, code: folded.code });
      }
    }
    await Promise.all(
      this.figures.accounts.map(async (a) => {
        const r = await nodeRequest<MainAccountJson>(reader.api, `/v1/main/accounts/${a.address}`).catch(() => undefined);
        if (r) a.main = r.balance;
      }),
    );
    const state = await nodeRequest<MainStateJson>(reader.api, '/v1/main/state').catch(() => undefined);
    if (state) this.figures.treasury = state.treasury.balance;
    const pools = await nodeRequest<{ pools: { sectorId: number; lastBatch: { converted: string; minted: string } | null }[] }>(reader.api, '/v1/main/pools').catch(() => undefined);
    for (const p of pools?.pools ?? []) {
      if (!p.lastBatch) continue;
      const slug = this.spec.sectors.find((s) => s.id === p.sectorId)?.slug ?? String(p.sectorId);
      this.figures.prices[slug] = ((BigInt(p.lastBatch.minted) * COIN) / BigInt(p.lastBatch.converted)).toString();
    }
    const roots = await Promise.all(nodes.map((n) => nodeRequest<{ agree: boolean | null; mismatches: number }>(n.api, '/v1/main/status').catch(() => undefined)));
    const seen = roots.filter((r) => r !== undefined);
    this.figures.roots = {
      nodes: seen.length,
      agree: seen.filter((r) => r!.agree === true).length,
      pending: seen.filter((r) => r!.agree === null).length,
      mismatches: seen.reduce((s, r) => s + r!.mismatches, 0),
    };
    // One node per sector: what its fold owes the sector and what its chain applied.
    const perSector = [...new Map(nodes.map((n) => [n.sector.id, n])).values()];
    const settled = (await Promise.all(perSector.map((n) => nodeRequest<SettlementsJson>(n.api, '/v1/main/settlements').catch(() => undefined)))).filter((x) => x !== undefined);
    if (settled.length > 0) {
      const applied = settled.reduce((s, x) => s + Number(x!.applied), 0);
      if (applied > this.figures.settlements.applied) this.emit({ type: 'settlements-applied', applied, owed: settled.reduce((s, x) => s + Number(x!.owed), 0) });
      this.figures.settlements = {
        owed: settled.reduce((s, x) => s + Number(x!.owed), 0),
        applied,
        held: settled.reduce((s, x) => s + x!.heldBlocks, 0),
      };
    }
  }
}
