/**
 * `pouw config path|show|set|unset`: the configuration file.
 *
 * Precedence: flags > POUW_* environment > this file > defaults (see
 * cli/settings.ts for the format). `set` checks the key and value the way the
 * option itself would before writing, and writes atomically (temp file, then
 * rename), so a bad value never lands in the file.
 * @module
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { PouwError } from '../core/errors.js';
import { addJsonOption, type JsonOpts } from './options.js';
import { formatRows, Output } from './output.js';
import { pouwPaths } from './paths.js';
import { checkConfig, type ConfigFile, type ConfigValue, readConfigFile } from './settings.js';

/** "node.threads" → ["node", "threads"]; "threads" → [undefined, "threads"]. */
function splitKey(key: string): [string | undefined, string] {
  const parts = key.split('.');
  if (parts.length > 2 || parts.some((p) => !/^[a-z][a-z0-9-]*$/.test(p))) {
    throw new PouwError('config-invalid', `"${key}" is not a setting name (a long option name, optionally after a command: node.threads)`);
  }
  return parts.length === 2 ? [parts[0], parts[1]!] : [undefined, parts[0]!];
}

/** A command-line word as a file value: JSON when it parses as a number, boolean or list, else the text. */
function valueOf(text: string): ConfigValue {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'number' || typeof v === 'boolean' || (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))) {
      return v as ConfigValue;
    }
  } catch {
    // Plain text.
  }
  return text;
}

function flatten(config: ConfigFile): [string, string][] {
  return Object.entries(config).flatMap(([k, v]): [string, string][] =>
    typeof v === 'object' && !Array.isArray(v) ? Object.entries(v).map(([ik, iv]): [string, string] => [`${k}.${ik}`, JSON.stringify(iv)]) : [[k, JSON.stringify(v)]],
  );
}

function write(file: string, config: ConfigFile): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration file (flags > POUW_* env > file > defaults)');
  addJsonOption(config.command('path').description('print the configuration file path')).action((opts: JsonOpts) => {
    const out = new Output(Boolean(opts.json));
    const path = pouwPaths().configFile;
    const exists = existsSync(path);
    if (out.json) return out.resultJson({ path, exists });
    out.result(path);
    if (!exists) out.log('(the file does not exist yet; defaults apply)');
  });

  addJsonOption(config.command('show').description('print the settings in the file (checked)')).action((opts: JsonOpts) => {
    const out = new Output(Boolean(opts.json));
    const file = pouwPaths().configFile;
    const settings = readConfigFile(file);
    checkConfig(program, settings, file);
    if (out.json) return out.resultJson({ path: file, settings });
    const rows = flatten(settings);
    if (rows.length === 0) out.log(`no settings in ${file}`);
    else out.result(formatRows(rows));
  });

  addJsonOption(
    config
      .command('set')
      .description('set a setting: pouw config set threads 2, pouw config set node.peer \'["ws://127.0.0.1:9000"]\'')
      .argument('<key>', 'long option name, optionally after a command (node.sector)')
      .argument('<value>', 'value: a number, true/false, a JSON list, or text'),
  ).action((key: string, text: string, opts: JsonOpts) => {
    const out = new Output(Boolean(opts.json));
    const file = pouwPaths().configFile;
    const settings = readConfigFile(file);
    const [section, name] = splitKey(key);
    const value = valueOf(text);
    const next: ConfigFile = structuredClone(settings);
    if (section) next[section] = { ...((next[section] as Record<string, ConfigValue>) ?? {}), [name]: value };
    else next[name] = value;
    checkConfig(program, next, file);
    write(file, next);
    if (out.json) return out.resultJson({ path: file, key, value });
    out.result(`${key} = ${JSON.stringify(value)}  (${file})`);
  });

  addJsonOption(config.command('unset').description('remove a setting').argument('<key>', 'setting name')).action((key: string, opts: JsonOpts) => {
    const out = new Output(Boolean(opts.json));
    const file = pouwPaths().configFile;
    const settings = readConfigFile(file);
    const [section, name] = splitKey(key);
    const holder = section ? settings[section] : settings;
    const removed = typeof holder === 'object' && !Array.isArray(holder) && name in holder;
    if (removed) {
      delete (holder as Record<string, unknown>)[name];
      if (section && Object.keys(holder as object).length === 0) delete settings[section];
      write(file, settings);
    }
    if (out.json) return out.resultJson({ path: file, key, removed });
    out.result(removed ? `removed ${key}` : `${key} was not set`);
  });
}
