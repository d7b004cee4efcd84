/**
 * The `pouw` program: command tree, error reporting and exit codes.
 *
 * `main(argv)` parses, runs one command and resolves to the exit code; it
 * never calls process.exit, so output is flushed before the process ends.
 * Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 no usable
 * kernel backend or device. Usage errors from commander are reported in the
 * same `error: <message> (<code>)` form as our own, or as JSON with --json.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { PouwError } from '../core/errors.js';
import { registerBenchCommand } from './bench.js';
import { registerNodeCommands } from './node.js';
import { registerAccountCommands } from './account.js';
import { registerTxCommands } from './tx.js';
import { registerConfigCommands } from './config.js';
import { registerDevnetCommand } from './devnet.js';
import { registerEconomyCommands } from './economy.js';
import { registerTaskCommands } from './task.js';
import { registerKeysCommands } from './keys.js';
import { EXIT, exitCodeFor, Output } from './output.js';
import { packageInfo } from '../platform/node/package-info.js';
import { printVersion, registerVersionCommand } from './version.js';
import { pouwPaths } from './paths.js';
import { applyConfigFile, checkConfig, readConfigFile } from './settings.js';

const HELP_FOOTER = `
Output:
  Results go to stdout, logs and warnings to stderr. --json prints one JSON
  object on stdout (errors as {"error":{"code","message"}}). Colour is off
  without a terminal or with NO_COLOR set.

Files:
  config  $XDG_CONFIG_HOME/pouw/config.json or $POUW_CONFIG (see: pouw config path)
          settings: flags > POUW_* environment > config file > defaults
  data    $XDG_DATA_HOME/pouw/  (keys/, and one directory per network)

Exit codes:
  0 ok, 1 failure, 2 usage or configuration error, 3 no usable backend/device`;

/** Arguments before a `--` terminator. */
function optionTokens(args: string[]): string[] {
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
}

function wantsJson(args: string[]): boolean {
  return optionTokens(args).includes('--json');
}

/** `pouw keys show` for `keys show x --json`: the deepest command the words name. */
function commandPath(program: Command, args: string[]): string {
  const names = [program.name()];
  let cmd: Command | undefined = program;
  for (const token of optionTokens(args)) {
    if (token.startsWith('-')) continue;
    const sub: Command | undefined = cmd.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (!sub) break;
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(' ');
}

function kebab(text: string): string {
  return text.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function buildProgram(json: boolean): Command {
  const program = new Command('pouw')
    .description('multi-sector proof-of-useful-work chain: keys, nodes, transactions, kernels and a devnet')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      // Reported by main() in our own format, with a code.
      outputError: () => {},
    })
    .option('-V, --version', 'print version, Node ABI and kernel backends, then exit')
    .addHelpText('after', HELP_FOOTER);

  // Probing the backends is asynchronous: the option only signals here, and
  // main() prints the version once parsing has stopped.
  program.on('option:version', () => {
    throw new CommanderError(EXIT.ok, 'commander.version', packageInfo().version);
  });

  // Settings layers: flags > POUW_* (commander, per option) > config file > defaults.
  // `pouw config ...` reads and checks the file itself, so a bad file can still be shown and mended.
  program.hook('preAction', (_program, action) => {
    if (action.parent?.name() === 'config') return;
    const file = pouwPaths().configFile;
    const config = readConfigFile(file);
    checkConfig(program, config, file);
    applyConfigFile(action, config, file);
  });

  registerVersionCommand(program);
  registerKeysCommands(program);
  registerConfigCommands(program);
  registerDevnetCommand(program);
  registerBenchCommand(program);
  registerNodeCommands(program);
  registerTxCommands(program);
  registerAccountCommands(program);
  registerEconomyCommands(program);
  registerTaskCommands(program);
  return program;
}

function report(e: unknown, out: Output, program: Command, args: string[]): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed') return EXIT.ok;
    if (e.code === 'commander.help') {
      // Help was asked for (`pouw help`) or shown because a command is missing (`pouw keys`).
      if (e.exitCode === 0) return EXIT.ok;
      if (out.json) out.error('missing-command', `${commandPath(program, args)} needs a command`);
      return EXIT.usage;
    }
    const code = kebab(e.code.replace(/^commander\./, ''));
    out.error(code, e.message.replace(/^error:\s*/, '').trim());
    if (!out.json) out.log(`see: ${commandPath(program, args)} --help`);
    return EXIT.usage;
  }
  if (e instanceof PouwError) {
    // A failure whose JSON result (with its verdict) is already on stdout: one object per run.
    if (!(out.json && (e.details as { reported?: boolean } | undefined)?.reported)) out.error(e.code, e.message);
    return exitCodeFor(e.code);
  }
  // Anything else is a bug: say so, with the stack on stderr for the report.
  out.error('internal-error', `unexpected error (a bug, please report it): ${(e as Error)?.message ?? String(e)}`);
  if (e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return EXIT.failure;
}

/** Runs the CLI on `argv` (node-style: [node, script, ...args]) and resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const args = argv.slice(2);
  const json = wantsJson(args);
  // A closed pipe (`pouw keys list | head -1`) is not an error worth a stack.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw e;
  });
  const program = buildProgram(json);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError && e.code === 'commander.version') {
      await printVersion(new Output(json));
      return EXIT.ok;
    }
    return report(e, new Output(json), program, args);
  }
}
