/**
 * The MAIN economy on the command line: `pouw faucet`, `pouw convert`,
 * `pouw main send|balance|history|status`, `pouw pool show` and
 * `pouw treasury show|audit`.
 *
 * Balances, pools and the treasury are the local node's own MAIN fold
 * (node/main-view.ts), computed from its header view and the record proofs,
 * not the edge's word; `main status` shows whether the edge's root agrees,
 * and `--strict` exits 1 when it does not. Sector-side txs (faucet, convert)
 * go to the node of `--sector`; a MAIN tx goes to the edge the node is
 * linked to (or `--edge`). MAIN amounts use MAIN's decimals, sector amounts
 * the sector's.
 * @module
 */
import { Option, type Command } from 'commander';
import { EdgeApi } from '../api/client.js';
import type { MainAccountJson, MainStateJson, PoolJson, SettlementsJson, WindowResultJson } from '../api/main.js';
import { formatAmount } from '../core/amount.js';
import { fromHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { addressOf, encodeAddress, keyPairFromSeed } from '../core/keys.js';
import { devnetFaucetSeed } from '../core/params.js';
import { encodeTx, MAIN_CHAIN, signTx, TX_VERSION } from '../core/tx.js';
import { readKey, parseKeyName } from './keystore.js';
import { addNodeLocationOptions, nodeApiUrl, nodeRequest, type NodeApi, type NodeLocationOpts, type NodeStatus } from './node-client.js';
import type { MainAudit, MainViewStatus } from '../node/main-view.js';
import { addJsonOption, type JsonOpts } from './options.js';
import { formatRows, Output } from './output.js';
import { pouwPaths } from './paths.js';
import { requireSetting } from './settings.js';
import { addressArg, amountOf, nonceArg, secondsArg, submitSectorTx } from './tx.js';

type Opts = NodeLocationOpts & JsonOpts;

interface MainTxJson {
  txid: string;
  window: number;
  status: 'applied' | 'void';
  kind: 'main' | 'conversion';
  amount?: string;
  code?: string;
  releases: { sectorId: number; to: string; amount: string; reason: string }[];
}


const keyOption = () => new Option('--from <key>', 'name of the stored key that signs').argParser(parseKeyName).default('default').env('POUW_FROM');
const waitOption = (what: string, dflt: number) =>
  new Option('--wait [seconds]', `wait until ${what} (default ${dflt} s)`).argParser(secondsArg).preset(dflt);

/** Polls the node's MAIN fold until `txid` is in a folded window (applied or void). */
async function waitFolded(api: NodeApi, txid: string, seconds: number, out: Output): Promise<MainTxJson> {
  const deadline = Date.now() + seconds * 1000;
  let said = 0;
  for (;;) {
    const r = await nodeRequest<MainTxJson>(api, `/v1/main/tx/${txid}`).catch((e: unknown) => {
      if (e instanceof PouwError && e.code === 'not-found') return undefined;
      throw e;
    });
    if (r) return r;
    if (Date.now() > deadline) throw new PouwError('main-wait-timeout', `${txid} is in no folded window after ${seconds} s; a window is decided once every sector's chain has passed its recording deadline`);
    if (Date.now() - said > 15_000) {
      out.log(`waiting for the window of ${txid.slice(0, 16)}… to be decided`);
      said = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The edge a MAIN tx goes to: `--edge`, else the one the node is linked to. */
export function edgeOf(status: NodeStatus, url: string | undefined): EdgeApi {
  const edge = url ?? status.edge;
  if (!edge) throw new PouwError('no-edge', 'the node is not linked to an edge (start it with --edge) and no --edge was given');
  return new EdgeApi({ url: edge, timeoutMs: 10_000 });
}

const units = (v: bigint | string, decimals: number, symbol: string) => `${formatAmount(BigInt(v), decimals)} ${symbol}`;

// ---------------------------------------------------------------- faucet, convert

async function faucet(opts: Opts & { to?: string; amount: string; wait?: number }): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  if (status.network !== 'devnet') throw new PouwError('not-devnet', `the faucet exists on the devnet only, not on ${status.network}`);
  const to = addressArg(requireSetting(opts.to, '--to', 'POUW_TO'), status.addressPrefix, '--to');
  const amount = amountOf(opts.amount, status.decimals, '--amount');
  const key = keyPairFromSeed(devnetFaucetSeed());
  const sent = await submitSectorTx(api, status, key, { kind: 'transfer', to: to.bytes, amount }, amountOf('0.0001', status.decimals, 'fee'));
  const result = { txid: sent.txid, status: sent.status, sector: status.sector, to: to.text, amount: amount.toString() };
  if (out.json) return out.resultJson(result);
  out.result(formatRows([['txid', sent.txid], ['sent', `${units(amount, status.decimals, status.symbol)} to ${to.text}`], ['status', `${sent.status} on ${status.sector}`]]));
}

async function convert(opts: Opts & { from: string; amount?: string; minMain: string; to?: string; fee: string; wait?: number }): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const key = readKey(pouwPaths().keysDir, opts.from);
  const amount = amountOf(requireSetting(opts.amount, '--amount', 'POUW_AMOUNT'), status.decimals, '--amount');
  const minMain = amountOf(opts.minMain, status.main.decimals, '--min-main');
  const mainTo = opts.to ? addressArg(opts.to, status.addressPrefix, '--to') : { text: encodeAddress(addressOf(key.publicKey), status.addressPrefix), bytes: addressOf(key.publicKey) };
  const fee = amountOf(opts.fee, status.decimals, '--fee');
  const sent = await submitSectorTx(api, status, key, { kind: 'convert', amount, minMain, mainTo: mainTo.bytes }, fee);
  const folded = opts.wait !== undefined ? await waitFolded(api, sent.txid, opts.wait, out) : undefined;
  const result = { txid: sent.txid, sector: status.sector, amount: amount.toString(), minMain: minMain.toString(), mainTo: mainTo.text, status: folded ? (folded.status === 'applied' ? 'minted' : 'void') : sent.status, ...(folded ? { window: folded.window, minted: folded.amount, code: folded.code } : {}) };
  if (out.json) return out.resultJson(result);
  out.result(
    formatRows([
      ['txid', sent.txid],
      ['locked', units(amount, status.decimals, status.symbol)],
      ['MAIN to', mainTo.text],
      [
        'status',
        folded
          ? folded.status === 'applied'
            ? `minted ${units(folded.amount ?? '0', status.main.decimals, status.main.symbol)} in window ${folded.window}`
            : `void (${folded.code}) in window ${folded.window}; the tokens are released back`
          : `${sent.status}: witnessed once buried, minted when its window is decided`,
      ],
    ]),
  );
}

// ---------------------------------------------------------------- main

async function mainSend(opts: Opts & { from: string; to?: string; amount?: string; fee: string; nonce?: bigint; edge?: string; wait?: number }): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const key = readKey(pouwPaths().keysDir, opts.from);
  const to = addressArg(requireSetting(opts.to, '--to', 'POUW_TO'), status.addressPrefix, '--to');
  const { decimals, symbol } = status.main;
  const amount = amountOf(requireSetting(opts.amount, '--amount', 'POUW_AMOUNT'), decimals, '--amount');
  const fee = amountOf(opts.fee, decimals, '--fee');
  const from = encodeAddress(addressOf(key.publicKey), status.addressPrefix);
  const account = await nodeRequest<MainAccountJson>(api, `/v1/main/accounts/${from}`);
  if (BigInt(account.balance) < amount + fee) {
    throw new PouwError('insufficient-funds', `${from} holds ${units(account.balance, decimals, symbol)} on this node's MAIN ledger (as of window ${account.window}); ${units(amount + fee, decimals, symbol)} needed`);
  }
  const nonce = opts.nonce ?? BigInt(account.nonce);
  const tx = signTx({ version: TX_VERSION, chain: MAIN_CHAIN, from: key.publicKey, nonce, fee, payload: { kind: 'transfer', to: to.bytes, amount } }, key.secretKey, fromHex(status.networkId));
  const edge = edgeOf(status, opts.edge);
  const r = await edge.call('main-submit', { body: { tx, raw: encodeTx(tx) } });
  if (!r.ok) {
    const hint = r.code === 'nonce-conflict' ? ' (a tx of this nonce is still undecided: wait for it, or pass --nonce)' : '';
    throw new PouwError(r.code, `the edge refused the MAIN tx: ${r.message}${hint}`);
  }
  const folded = opts.wait !== undefined ? await waitFolded(api, r.value.txid, opts.wait, out) : undefined;
  const result = { txid: r.value.txid, window: r.value.window, status: folded?.status ?? r.value.status, ...(folded?.code ? { code: folded.code } : {}), from, to: to.text, amount: amount.toString(), fee: fee.toString(), nonce: nonce.toString() };
  if (out.json) return out.resultJson(result);
  out.result(
    formatRows([
      ['txid', result.txid],
      ['status', folded ? (folded.status === 'applied' ? `applied in window ${folded.window}` : `void (${folded.code}) in window ${folded.window}`) : `${r.value.status} in window ${r.value.window}`],
      ['from', from],
      ['to', to.text],
      ['amount', units(amount, decimals, symbol)],
      ['fee', units(fee, decimals, symbol)],
      ['nonce', result.nonce],
    ]),
  );
}

async function mainBalance(ref: string | undefined, opts: Opts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const a = addressArg(ref ?? 'default', status.addressPrefix, 'address');
  const acct = await nodeRequest<MainAccountJson>(api, `/v1/main/accounts/${a.text}`);
  if (out.json) return out.resultJson({ ...acct, address: a.text });
  out.result(formatRows([['address', a.text], ['balance', units(acct.balance, status.main.decimals, status.main.symbol)], ['nonce', acct.nonce], ['as of', `window ${acct.window} (${status.sector} node's fold)`]]));
}

async function mainHistory(ref: string | undefined, opts: Opts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const a = addressArg(ref ?? 'default', status.addressPrefix, 'address');
  const h = await nodeRequest<{ entries: (WindowResultJson['applied'][number] & { window: number; direction: 'in' | 'out' })[] }>(api, `/v1/main/history/${a.text}`);
  if (out.json) return out.resultJson({ address: a.text, entries: h.entries });
  if (h.entries.length === 0) return out.result(`no MAIN activity of ${a.text} in the windows this node folded`);
  const prefix = status.addressPrefix;
  out.result(
    h.entries
      .map((e) => {
        const other = e.direction === 'in' ? `from ${encodeAddress(fromHex(e.from), prefix)}` : `to ${encodeAddress(fromHex(e.to), prefix)}`;
        const what = e.kind === 'conversion' ? 'minted' : e.direction === 'in' ? 'received' : 'sent';
        return `window ${String(e.window).padStart(7)}  ${what.padEnd(8)} ${units(e.amount, status.main.decimals, status.main.symbol).padStart(24)}  ${e.kind === 'conversion' ? '' : other}  ${e.txid.slice(0, 16)}…`;
      })
      .join('\n'),
  );
}

async function mainStatus(opts: Opts & { strict?: boolean }): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const s = await nodeRequest<MainViewStatus>(api, '/v1/main/status');
  const bad = s.mismatches > 0 || s.agree === false;
  if (out.json) out.resultJson({ ...s, ok: !bad });
  else {
    out.result(
      formatRows([
        ['folded', `window ${s.window} (${s.windows} windows with txs)`],
        ['decided', `through window ${s.decidedThrough}`],
        ['root', s.root],
        ['edge root', s.edgeRoot ?? 'not published for this window yet'],
        ['agree', s.agree === null ? 'unknown' : s.agree ? 'yes' : 'NO'],
        ['mismatches', String(s.mismatches)],
      ]),
    );
  }
  if (opts.strict && bad) throw new PouwError('main-root-mismatch', `the edge published another root for ${s.mismatches} window(s) this node folded`, { reported: true });
}

// ---------------------------------------------------------------- pool, treasury

async function poolShow(opts: Opts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const p = await nodeRequest<{ window: number; pools: (PoolJson & { lastBatch: { window: number; converted: string; minted: string } | null })[] }>(api, '/v1/main/pools');
  if (out.json) return out.resultJson(p);
  const price = (main: bigint, sector: bigint) => (sector === 0n ? '-' : formatAmount((main * 100_000_000n) / sector, 8));
  out.result(
    [
      `sector  reserve (tokens)        virtual MAIN            spot MAIN/token  last batch`,
      ...p.pools.map((x) => {
        const last = x.lastBatch ? `${price(BigInt(x.lastBatch.minted), BigInt(x.lastBatch.converted))} in window ${x.lastBatch.window}` : 'none yet';
        return `${String(x.sectorId).padEnd(7)} ${formatAmount(BigInt(x.sector), 8).padEnd(23)} ${formatAmount(BigInt(x.main), status.main.decimals).padEnd(23)} ${price(BigInt(x.main), BigInt(x.sector)).padEnd(16)} ${last}`;
      }),
      `as of window ${p.window}`,
    ].join('\n'),
  );
}

async function treasuryShow(opts: Opts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const s = await nodeRequest<MainStateJson>(api, '/v1/main/state');
  const settled = await nodeRequest<SettlementsJson>(api, '/v1/main/settlements');
  if (out.json) {
    const sectors = s.pools.map((p) => ({ sectorId: p.sectorId, locked: p.locked, released: p.released }));
    return out.resultJson({ window: s.window, treasury: s.treasury, supply: s.supply, minted: s.minted, burnt: s.burnt, sectors, settlements: settled });
  }
  const { decimals, symbol } = status.main;
  const due = BigInt(settled.owed) - BigInt(settled.applied);
  out.result(
    formatRows([
      ['treasury', `${encodeAddress(fromHex(s.treasury.address), status.addressPrefix)} holds ${units(s.treasury.balance, decimals, symbol)}`],
      ['supply', `${units(s.supply, decimals, symbol)} (minted ${units(s.minted, decimals, symbol)}, burnt ${units(s.burnt, decimals, symbol)})`],
      ...s.pools.map((p): [string, string] => [`sector ${p.sectorId}`, `locked ${formatAmount(BigInt(p.locked), 8)}, released ${formatAmount(BigInt(p.released), 8)}, held ${formatAmount(BigInt(p.locked) - BigInt(p.released), 8)}`]),
      [
        'settlements',
        `${status.sector} applied ${settled.applied} of ${settled.owed} releases owed${due > 0n ? ` (${due} due next, from ${formatAmount(BigInt(settled.treasury), 8)} in its treasury)` : ''}${settled.heldBlocks > 0 ? `; ${settled.heldBlocks} block(s) held for the fold` : ''}`,
      ],
      ['as of', `window ${s.window}`],
    ]),
  );
}

async function treasuryAudit(opts: Opts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const api = nodeApiUrl(opts);
  const a = await nodeRequest<MainAudit>(api, '/v1/main/audit');
  if (out.json) out.resultJson(a);
  else out.result(a.ok ? `audit passed: ${a.windows} windows refolded from chain data and ${a.settlements ?? 0} settlements on this sector's chain checked against them; every root, the treasury and every release agree` : [`audit FAILED over ${a.windows} windows:`, ...a.problems.map((p) => `  window ${p.window}: ${p.code} ${p.detail}`)].join('\n'));
  if (!a.ok) throw new PouwError('audit-failed', `${a.problems.length} problem(s) found`, { reported: true });
}

export function registerEconomyCommands(program: Command): void {
  addJsonOption(
    addNodeLocationOptions(
      program
        .command('faucet')
        .description("devnet only: send sector tokens from the genesis-funded faucet key (then `pouw convert` them into MAIN)")
        .addOption(new Option('--to <address|key>', 'recipient address, or the name of a stored key').env('POUW_TO'))
        .addOption(new Option('--amount <tokens>', 'sector tokens to send').default('1000')),
    ),
  ).action(faucet);

  addJsonOption(
    addNodeLocationOptions(
      program
        .command('convert')
        .description("lock sector tokens for MAIN: witnessed by two other sectors, minted at the window's batch price")
        .addOption(keyOption())
        .addOption(new Option('--amount <tokens>', 'sector tokens to lock').env('POUW_AMOUNT'))
        .addOption(new Option('--min-main <main>', 'least MAIN accepted; below it the conversion is refunded').default('0'))
        .addOption(new Option('--to <address|key>', 'MAIN address credited (default: the signing key)'))
        .addOption(new Option('--fee <tokens>', 'sector fee paid to the miner').default('0.00001'))
        .addOption(waitOption('the MAIN is minted (or the conversion void)', 600)),
    ),
  ).action(convert);

  const main = program.command('main').description("MAIN: transfers and balances on the local node's own MAIN ledger");
  addJsonOption(
    addNodeLocationOptions(
      main
        .command('send')
        .description('sign a MAIN transfer and submit it to the edge; it is final once recorded by two drawn sectors')
        .addOption(keyOption())
        .addOption(new Option('--to <address|key>', 'recipient address, or the name of a stored key').env('POUW_TO'))
        .addOption(new Option('--amount <main>', 'MAIN to send').env('POUW_AMOUNT'))
        .addOption(new Option('--fee <main>', 'MAIN fee: the treasury keeps the toll, the recording miners the rest').default('0.0001'))
        .addOption(new Option('--nonce <n>', "nonce (default: the sender's next on this node's MAIN ledger)").argParser(nonceArg))
        .addOption(new Option('--edge <url>', 'edge to submit to (default: the one the node is linked to)'))
        .addOption(waitOption('the tx is applied (or void) on this node', 600)),
    ),
  ).action(mainSend);
  addJsonOption(addNodeLocationOptions(main.command('balance').description('MAIN balance and nonce of an address or stored key').argument('[address|key]', 'default: the key "default"'))).action(mainBalance);
  addJsonOption(addNodeLocationOptions(main.command('history').description('MAIN transfers and mints of an address in the windows this node folded').argument('[address|key]', 'default: the key "default"'))).action(mainHistory);
  addJsonOption(
    addNodeLocationOptions(
      main.command('status').description("this node's MAIN fold: last window, root, and whether the edge's root agrees").option('--strict', 'exit 1 when the edge published another root for any folded window'),
    ),
  ).action(mainStatus);

  const pool = program.command('pool').description('the per-sector conversion pools');
  addJsonOption(addNodeLocationOptions(pool.command('show').description('reserves, spot price and the last batch price of each sector'))).action(poolShow);

  const treasury = program.command('treasury').description('the public treasury and the sector treasuries');
  addJsonOption(addNodeLocationOptions(treasury.command('show').description("the public treasury's MAIN, supply, and each sector treasury's locked and released tokens"))).action(treasuryShow);
  addJsonOption(
    addNodeLocationOptions(treasury.command('audit').description('refold every window from chain data and compare every root and the treasury with the store; exit 1 on any mismatch')),
  ).action(treasuryAudit);
}

