/**
 * Options shared by many commands, declared once so they read the same everywhere.
 * @module
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
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

/** commander argument parser for an integer option in min..max ("<name> must be an integer in min..max"). */
export const intArg = (name: string, min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
  return n;
};
