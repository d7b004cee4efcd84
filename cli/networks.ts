/**
 * Networks the CLI knows and their address prefixes.
 *
 * Only devnet exists today. This map is a stand-in until core/ carries
 * per-network parameters; then it should be derived from them. Parsing a
 * network name is a usage error (exit 2) that lists the known networks.
 * @module
 */
import { InvalidArgumentError } from 'commander';

export interface NetworkInfo {
  name: string;
  /** bech32m human-readable prefix of addresses on this network. */
  addressPrefix: string;
}

export const NETWORKS: Readonly<Record<string, NetworkInfo>> = {
  devnet: { name: 'devnet', addressPrefix: 'tpouw' },
};

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
