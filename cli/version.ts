/**
 * `pouw version` and `pouw --version`: what is installed and what it can run.
 *
 * Shows the package version, the Node version with its module ABI and N-API
 * version (a native addon must match them), the platform, and every kernel
 * backend with why it is or is not usable, so nobody has to guess whether
 * the native code or the slow fallback would run.
 * @module
 */
import type { Command } from 'commander';
import { type BackendProbe, preferredBackend, probeBackends } from './backends.js';
import { addJsonOption, type JsonOpts } from './options.js';
import { formatRows, Output, type Palette } from './output.js';
import { packageInfo } from '../platform/node/package-info.js';

export interface VersionInfo {
  version: string;
  package: string;
  node: string;
  /** process.versions.modules: the ABI a native addon is built for. */
  nodeAbi: string;
  napi: string | null;
  platform: string;
  arch: string;
  backends: BackendProbe[];
  /** The backend a miner would use now (fastest available). */
  preferredBackend: string | null;
}

export async function versionInfo(): Promise<VersionInfo> {
  const pkg = packageInfo();
  const backends = await probeBackends(pkg.root);
  return {
    version: pkg.version,
    package: pkg.name,
    node: process.versions.node,
    nodeAbi: process.versions.modules,
    napi: process.versions.napi ?? null,
    platform: process.platform,
    arch: process.arch,
    backends,
    preferredBackend: preferredBackend(backends)?.name ?? null,
  };
}

/** Backend rows, fastest first: `name  yes|no  reason`. */
export function formatBackends(backends: BackendProbe[], paint: Palette, indent = '  '): string {
  return formatRows(
    backends.map((b): [string, string] => [b.name, `${b.available ? paint.green('yes') : paint.dim('no ')}  ${b.reason}`]),
    indent,
  );
}

/** One line: which backend would run and which faster ones were skipped (their reasons are listed with them). */
export function describeChoice(backends: BackendProbe[]): string {
  const chosen = preferredBackend(backends);
  if (!chosen) return 'none: no usable kernel backend';
  const skipped = backends.slice(0, backends.indexOf(chosen)).map((b) => b.name);
  return skipped.length ? `${chosen.name} (${skipped.join(' and ')} not available)` : chosen.name;
}

export async function printVersion(out: Output): Promise<void> {
  const info = await versionInfo();
  if (out.json) return out.resultJson(info);
  out.result(`pouw ${info.version} (${info.package})`);
  out.result(
    formatRows([
      ['node', `v${info.node}  ABI ${info.nodeAbi}  N-API ${info.napi ?? 'none'}`],
      ['platform', `${info.platform}-${info.arch}`],
    ]),
  );
  out.result('kernel backends found (fastest first):');
  out.result(formatBackends(info.backends, out.out));
  out.result(`would use: ${describeChoice(info.backends)}`);
}

export function registerVersionCommand(program: Command): void {
  addJsonOption(
    program.command('version').description('print version, Node ABI and the kernel backends found'),
  ).action((opts: JsonOpts) => printVersion(new Output(Boolean(opts.json))));
}
