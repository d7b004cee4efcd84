/**
 * Options shared by many commands, declared once so they read the same everywhere.
 * @module
 */
import { type Command, Option } from 'commander';
import { DEFAULT_NETWORK, knownNetworks, type NetworkInfo, NETWORKS, parseNetwork } from './networks.js';

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON object on stdout (never prompts)');
}

export function addNetworkOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--network <name>', `network, for address prefixes (known: ${knownNetworks().join(', ')})`)
      .argParser(parseNetwork)
      .default(NETWORKS[DEFAULT_NETWORK], DEFAULT_NETWORK),
  );
}

export interface JsonOpts {
  json?: boolean;
}

export interface NetworkOpts {
  network: NetworkInfo;
}
