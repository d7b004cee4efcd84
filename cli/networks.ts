/**
 * Networks the CLI knows, derived from core's network specs, and the parser
 * for `--network`. Only devnet exists today. An unknown network is a usage
 * error (exit 2) that lists the known ones.
 * @module
 */
import { InvalidArgumentError } from 'commander';
import { devnetSpec } from '../core/params.js';

export interface NetworkInfo {
  name: string;
  /** bech32m human-readable prefix of addresses on this network. */
  addressPrefix: string;
}

const SPECS = [devnetSpec()];

export const NETWORKS: Readonly<Record<string, NetworkInfo>> = Object.fromEntries(
  SPECS.map((s) => [s.name, { name: s.name, addressPrefix: s.addressPrefix }]),
);

export const DEFAULT_NETWORK = 'devnet';

export function knownNetworks(): string[] {
  return Object.keys(NETWORKS);
}

/** The network called `name`, or undefined. */
export function findNetwork(name: string): NetworkInfo | undefined {
  return Object.hasOwn(NETWORKS, name) ? NETWORKS[name] : undefined;
}

/** commander argument parser for `--network`. */
export function parseNetwork(value: string): NetworkInfo {
  const network = findNetwork(value);
  if (!network) throw new InvalidArgumentError(`unknown network; known networks: ${knownNetworks().join(', ')}`);
  return network;
}
