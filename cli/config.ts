/**
 * `pouw config path`: where the configuration file is (or would be).
 *
 * Precedence, once settings exist: flags > POUW_* environment > this file >
 * defaults. Nothing reads the file yet; this command makes its place known.
 * @module
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { addJsonOption, type JsonOpts } from './options.js';
import { Output } from './output.js';
import { pouwPaths } from './paths.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration file');
  addJsonOption(
    config.command('path').description('print the configuration file path (flags > POUW_* env > file > defaults)'),
  ).action((opts: JsonOpts) => {
    const out = new Output(Boolean(opts.json));
    const path = pouwPaths().configFile;
    const exists = existsSync(path);
    if (out.json) return out.resultJson({ path, exists });
    out.result(path);
    if (!exists) out.log('(the file does not exist yet; defaults apply)');
  });
}
