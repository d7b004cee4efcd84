/**
 * `pouw account show <address|key>`: balance, nonce and pending txs of an
 * account on a running node, amounts in the sector's token.
 * @module
 */
import type { Command } from 'commander';
import { formatAmount } from '../core/amount.js';
import { addressOf, encodeAddress } from '../core/keys.js';
import { addNodeLocationOptions, nodeApiUrl, nodeRequest, type NodeLocationOpts, type NodeStatus } from './node-client.js';
import { addJsonOption, type JsonOpts } from './options.js';
import { formatRows, Output } from './output.js';
import { pouwPaths } from './paths.js';
import { readKey } from './keystore.js';

export interface AccountJson {
  address: string;
  balance: string;
  nonce: string;
  pending: { txs: string[]; nextNonce: string; spend: string };
}

/** An address as given, or the address of a stored key of that name. */
export function resolveAddress(ref: string, prefix: string): string {
  if (ref.startsWith(`${prefix}1`)) return ref;
  return encodeAddress(addressOf(readKey(pouwPaths().keysDir, ref).publicKey), prefix);
}

export function registerAccountCommands(program: Command): void {
  const account = program.command('account').description('accounts on a sector chain');
  addJsonOption(
    addNodeLocationOptions(
      account.command('show').description('balance, nonce and pending txs of an address or a stored key').argument('<address|key>', 'an address or a key name'),
    ),
  ).action(async (ref: string, opts: NodeLocationOpts & JsonOpts) => {
    const out = new Output(Boolean(opts.json));
    const api = nodeApiUrl(opts);
    const status = await nodeRequest<NodeStatus>(api, '/v1/status');
    const address = resolveAddress(ref, status.addressPrefix);
    const a = await nodeRequest<AccountJson>(api, `/v1/account/${address}`);
    if (out.json) return out.resultJson({ ...a, sector: status.sector, symbol: status.symbol, decimals: status.decimals, height: status.tip.height });
    const amount = (units: string) => `${formatAmount(BigInt(units), status.decimals)} ${status.symbol}`;
    out.result(
      formatRows([
        ['address', a.address],
        ['sector', `${status.sector} (height ${status.tip.height})`],
        ['balance', amount(a.balance)],
        ['nonce', a.nonce],
        ['pending', a.pending.txs.length ? `${a.pending.txs.length} tx(s) spending ${amount(a.pending.spend)}; next nonce ${a.pending.nextNonce}` : 'none'],
      ]),
    );
  });
}
