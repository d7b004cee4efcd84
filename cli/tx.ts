/**
 * `pouw tx send` and `pouw tx show`: sign a transfer with a stored key and
 * hand it to a running node; look a tx up by id.
 *
 * Amounts are in the sector's token with its decimals ("1.5"); the network id
 * signed over, the sector (chain) and the address prefix come from the node's
 * `/v1/status`, and the nonce from the sender's confirmed plus pending txs
 * unless `--nonce` is given. `--wait` polls until the tx is in a block.
 * @module
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatAmount, parseAmount } from '../core/amount.js';
import { fromHex, toHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { addressOf, decodeAddress, encodeAddress } from '../core/keys.js';
import { encodeTx, signTx, TX_VERSION, type UnsignedTx } from '../core/tx.js';
import { resolveAddress, type AccountJson } from './account.js';
import { readKey, parseKeyName } from './keystore.js';
import { addNodeLocationOptions, nodeApiUrl, nodeRequest, type NodeApi, type NodeLocationOpts, type NodeStatus } from './node-client.js';
import { addJsonOption, type JsonOpts } from './options.js';
import { formatRows, Output } from './output.js';
import { pouwPaths } from './paths.js';
import { requireSetting } from './settings.js';

interface SendOpts extends NodeLocationOpts, JsonOpts {
  from: string;
  to?: string;
  amount?: string;
  fee: string;
  nonce?: bigint;
  wait?: number;
}

interface TxStatusJson {
  status: 'pending' | 'confirmed';
  height?: number;
  block?: string;
}

export const nonceArg = (v: string) => {
  if (!/^\d{1,20}$/.test(v) || BigInt(v) >= 1n << 64n) throw new InvalidArgumentError('the nonce must be an integer in 0..2^64-1');
  return BigInt(v);
};
export const secondsArg = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new InvalidArgumentError('seconds must be a number in (0, 86400]');
  return n;
};

export function amountOf(text: string, decimals: number, what: string): bigint {
  const r = parseAmount(text, decimals);
  if (!r.ok) throw new PouwError('usage', `${what}: ${r.detail}`);
  return r.value;
}

/** Polls the node until `txid` is in a block, or fails after `seconds`. */
async function waitConfirmed(api: NodeApi, txid: string, seconds: number): Promise<TxStatusJson> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const s = await nodeRequest<TxStatusJson>(api, `/v1/tx/${txid}`).catch((e: unknown) => {
      // A tx can leave the mempool in a reorg before it is back: keep polling.
      if (e instanceof PouwError && e.code === 'not-found') return undefined;
      throw e;
    });
    if (s?.status === 'confirmed') return s;
    if (Date.now() > deadline) throw new PouwError('tx-wait-timeout', `tx ${txid} not confirmed after ${seconds} s (${s?.status ?? 'not found'})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Signs a tx of the node's sector with `key` and hands it to the node: the
 * network id, sector and nonce (the next after confirmed and pending txs,
 * unless given) come from the node. What `tx send`, `convert` and `faucet`
 * share.
 */
export async function submitSectorTx(
  api: NodeApi,
  status: NodeStatus,
  key: { publicKey: Uint8Array; secretKey: Uint8Array },
  payload: UnsignedTx['payload'],
  fee: bigint,
  nonce?: bigint,
): Promise<{ txid: string; status: string; nonce: bigint }> {
  const from = encodeAddress(addressOf(key.publicKey), status.addressPrefix);
  // A shared key (the devnet faucet) may have another tx take our nonce between the read and the send: read it again.
  for (let attempt = 0; ; attempt++) {
    const n = nonce ?? BigInt((await nodeRequest<AccountJson>(api, `/v1/account/${from}`)).pending.nextNonce);
    const tx = signTx({ version: TX_VERSION, chain: status.sectorId, from: key.publicKey, nonce: n, fee, payload }, key.secretKey, fromHex(status.networkId));
    try {
      const sent = await nodeRequest<{ txid: string; status: string }>(api, '/v1/tx', { tx: toHex(encodeTx(tx)) });
      return { ...sent, nonce: n };
    } catch (e) {
      const raced = e instanceof PouwError && (e.code === 'mempool-replacement-underpriced' || e.code === 'mempool-nonce-too-low');
      if (nonce !== undefined || !raced || attempt >= 4) throw e;
    }
  }
}

/** An address as typed (or a stored key's), decoded; a usage error naming the option otherwise. */
export function addressArg(ref: string, prefix: string, what: string): { text: string; bytes: Uint8Array } {
  const text = resolveAddress(ref, prefix);
  const a = decodeAddress(text, prefix);
  if (!a.ok) throw new PouwError('usage', `${what}: ${a.detail} (${a.code})`);
  return { text, bytes: a.value };
}

async function send(opts: SendOpts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const to = requireSetting(opts.to, '--to', 'POUW_TO');
  const amountText = requireSetting(opts.amount, '--amount', 'POUW_AMOUNT');
  const key = readKey(pouwPaths().keysDir, opts.from);
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const toAddress = addressArg(to, status.addressPrefix, '--to');
  const amount = amountOf(amountText, status.decimals, '--amount');
  const fee = amountOf(opts.fee, status.decimals, '--fee');
  const fromAddress = resolveAddress(opts.from, status.addressPrefix);
  const sent = await submitSectorTx(api, status, key, { kind: 'transfer', to: toAddress.bytes, amount }, fee, opts.nonce);
  const confirmed = opts.wait !== undefined ? await waitConfirmed(api, sent.txid, opts.wait) : undefined;
  const result = {
    txid: sent.txid,
    status: confirmed ? 'confirmed' : sent.status,
    ...(confirmed ? { height: confirmed.height, block: confirmed.block } : {}),
    sector: status.sector,
    from: fromAddress,
    to: toAddress.text,
    amount: amount.toString(),
    fee: fee.toString(),
    nonce: sent.nonce.toString(),
  };
  if (out.json) return out.resultJson(result);
  const tokens = (units: bigint) => `${formatAmount(units, status.decimals)} ${status.symbol}`;
  out.result(
    formatRows([
      ['txid', result.txid],
      ['status', confirmed ? `confirmed at height ${confirmed.height}` : result.status],
      ['from', result.from],
      ['to', result.to],
      ['amount', tokens(amount)],
      ['fee', tokens(fee)],
      ['nonce', result.nonce],
    ]),
  );
}

export function registerTxCommands(program: Command): void {
  const tx = program.command('tx').description('sector transactions');
  addJsonOption(
    addNodeLocationOptions(
      tx
        .command('send')
        .description("sign a transfer with a stored key and submit it to a node (amounts in the sector's token)")
        .addOption(new Option('--from <key>', 'name of the stored key that signs').argParser(parseKeyName).default('default').env('POUW_FROM'))
        .addOption(new Option('--to <address|key>', 'recipient address, or the name of a stored key').env('POUW_TO'))
        .addOption(new Option('--amount <tokens>', 'amount, e.g. 1.5').env('POUW_AMOUNT'))
        .addOption(new Option('--fee <tokens>', 'fee paid to the miner').default('0.00001').env('POUW_FEE'))
        .addOption(new Option('--nonce <n>', 'nonce (default: the next one after confirmed and pending txs)').argParser(nonceArg))
        .addOption(new Option('--wait [seconds]', 'wait until the tx is in a block (default 120 s)').argParser(secondsArg).preset(120)),
    ),
  ).action(send);

  addJsonOption(addNodeLocationOptions(tx.command('show').description('a tx by id: pending or confirmed, with its block').argument('<txid>', '64 hex characters'))).action(
    async (txid: string, opts: NodeLocationOpts & JsonOpts) => {
      const out = new Output(Boolean(opts.json));
      if (!/^[0-9a-f]{64}$/.test(txid)) throw new PouwError('usage', 'a txid is 64 lowercase hex characters');
      const s = await nodeRequest<TxStatusJson & { tx: Record<string, string> }>(nodeApiUrl(opts), `/v1/tx/${txid}`);
      if (out.json) return out.resultJson(s);
      out.result(formatRows([['status', s.status === 'confirmed' ? `confirmed at height ${s.height} in ${s.block}` : s.status], ...Object.entries(s.tx).map(([k, v]): [string, string] => [k, String(v)])]));
    },
  );
}
