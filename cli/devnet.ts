/**
 * `pouw devnet`: a placeholder until the home node and the edge exist.
 *
 * It says what is installed today and where the devnet's data will live, and
 * always exits 0 so scripts written for the real devnet do not break. It
 * accepts the options the real command will take (`--duration`, `--json`)
 * and ignores any others.
 * @module
 */
import type { Command } from 'commander';
import { describeChoice, formatBackends, versionInfo } from './version.js';
import { addJsonOption, type JsonOpts } from './options.js';
import { formatRows, Output } from './output.js';
import { networkDataDir, pouwPaths } from './paths.js';

const MESSAGE = 'the devnet is not available yet: it arrives with the home node and the edge coordinator';

async function report(out: Output, duration: unknown): Promise<void> {
  const info = await versionInfo();
  const dataDir = networkDataDir('devnet');
  const { keysDir } = pouwPaths();
  if (out.json) {
    out.resultJson({
      available: false,
      message: MESSAGE,
      version: info.version,
      node: info.node,
      nodeAbi: info.nodeAbi,
      backends: info.backends,
      preferredBackend: info.preferredBackend,
      dataDir,
      keysDir,
      ...(typeof duration === 'string' ? { durationIgnored: duration } : {}),
    });
    return;
  }
  out.log(`pouw devnet: ${MESSAGE}.`);
  out.log('what exists now:');
  out.log(
    formatRows(
      [
        ['version', `pouw ${info.version}, node v${info.node} (ABI ${info.nodeAbi})`],
        ['keys', `pouw keys new | show | list (stored in ${keysDir})`],
        ['devnet data', `${dataDir} (used once the devnet exists)`],
        ['kernel backend', describeChoice(info.backends)],
      ],
      '  ',
    ),
  );
  out.log('kernel backends found (fastest first):');
  out.log(formatBackends(info.backends, out.err, '  '));
  if (typeof duration === 'string') out.log(`(--duration ${duration} ignored for now)`);
}

export function registerDevnetCommand(program: Command): void {
  addJsonOption(
    program
      .command('devnet')
      .description('run a local development network (not available yet: reports what exists)')
      .option('--duration [seconds]', 'how long to run (accepted for forward compatibility, ignored)')
      .allowUnknownOption()
      .allowExcessArguments(),
  ).action(async (opts: { duration?: string | boolean } & JsonOpts) => {
    const out = new Output(Boolean(opts.json));
    try {
      await report(out, opts.duration);
    } catch (e) {
      // Never fail: this command is a promise of things to come, not a check.
      if (out.json) out.resultJson({ available: false, message: MESSAGE });
      else out.log(`pouw devnet: ${MESSAGE}. (${(e as Error).message})`);
    }
  });
}
