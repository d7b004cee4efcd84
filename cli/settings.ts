/**
 * Where option values come from: flags > `POUW_*` environment > the
 * configuration file > defaults.
 *
 * Commander handles the first two (options declare their variable with
 * `.env()`), and marks where each value came from. Before a command runs,
 * `applyConfigFile` fills every option still at its default (or unset) from
 * the file, parsed by the option's own parser so a file value is checked
 * exactly like a flag. The file is JSON:
 *
 *     { "threads": 2, "node": { "sector": "cpu-edge", "peer": ["ws://127.0.0.1:9000"] } }
 *
 * Top-level keys apply to every command that has the option; a section named
 * after a command (`node`, `tx`, ...) applies to its subcommands and wins over
 * the top level. Keys are the long option names. An unknown key, a value of
 * the wrong type or a value the option refuses is a `config-invalid` error
 * naming the file and the key: nothing runs on a half-understood file.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, type Option } from 'commander';
import { PouwError } from '../core/errors.js';

export type ConfigValue = string | number | boolean | (string | number)[];
export type ConfigFile = Record<string, ConfigValue | Record<string, ConfigValue>>;

/** Options that never come from a file: they shape one invocation's output. */
const NOT_CONFIGURABLE = new Set(['json', 'help', 'version', 'secret']);

const invalid = (file: string, message: string) => new PouwError('config-invalid', `${file}: ${message}`);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function longName(o: Option): string | undefined {
  return o.long?.replace(/^--/, '');
}

function configurable(cmd: Command): Map<string, Option> {
  const map = new Map<string, Option>();
  for (const o of cmd.options) {
    const name = longName(o);
    if (name && !NOT_CONFIGURABLE.has(name) && !o.negate) map.set(name, o);
  }
  return map;
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/** The file's contents, `{}` when it does not exist. */
export function readConfigFile(file: string): ConfigFile {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw invalid(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) throw invalid(file, 'the file must hold one JSON object');
  return parsed as ConfigFile;
}

/**
 * Checks every key and value against the program's options (each value through
 * the parser of every option it reaches), so a typo or a bad value fails even
 * when the command being run does not use it.
 */
export function checkConfig(program: Command, config: ConfigFile, file: string): void {
  const sections = new Map(program.commands.map((c) => [c.name(), allCommands(c)]));
  const check = (commands: Command[], name: string, value: unknown, key: string) => {
    const options = commands.flatMap((c) => configurable(c).get(name) ?? []);
    if (options.length === 0) return false;
    for (const o of options) {
      try {
        parseValue(o, value, `"${key}"`);
      } catch (e) {
        if (e instanceof InvalidArgumentError) throw invalid(file, e.message);
        throw e;
      }
    }
    return true;
  };
  for (const [key, value] of Object.entries(config)) {
    const section = sections.get(key);
    if (section && isPlainObject(value)) {
      for (const [inner, v] of Object.entries(value)) {
        if (!check(section, inner, v, `${key}.${inner}`)) throw invalid(file, `"${key}.${inner}": no command under "${key}" has an option --${inner}`);
      }
    } else if (!check(allCommands(program), key, value, key)) {
      throw invalid(file, `"${key}": unknown setting (settings are long option names, e.g. "threads", or command sections, e.g. "node")`);
    }
  }
}

/** The file's value for `name` in `cmd`'s context: its top-level command's section first, then the top level. */
function lookup(config: ConfigFile, cmd: Command, name: string): { key: string; value: unknown } | undefined {
  let top = cmd;
  while (top.parent?.parent) top = top.parent;
  const section = cmd.parent ? config[top.name()] : undefined;
  if (isPlainObject(section) && name in section) return { key: `${top.name()}.${name}`, value: section[name] };
  if (name in config && !isPlainObject(config[name])) return { key: name, value: config[name] };
  return undefined;
}

function parseValue(o: Option, value: unknown, where: string): unknown {
  const takesValue = o.required || o.optional;
  if (!takesValue) {
    if (typeof value !== 'boolean') throw new InvalidArgumentError(`${where} must be true or false`);
    return value;
  }
  const items = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && !o.variadic && !Array.isArray(o.defaultValue)) throw new InvalidArgumentError(`${where} takes one value, not a list`);
  let parsed: unknown = o.defaultValue;
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number') throw new InvalidArgumentError(`${where} must be a string or a number`);
    const text = String(item);
    if (o.argChoices && !o.argChoices.includes(text)) throw new InvalidArgumentError(`${where} must be one of ${o.argChoices.join(', ')}`);
    try {
      parsed = o.parseArg ? o.parseArg(text, parsed) : text;
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(`${where}: ${e.message}`);
      throw e;
    }
  }
  return parsed;
}

/** Fills `cmd`'s options that still hold their default from the configuration file. */
export function applyConfigFile(cmd: Command, config: ConfigFile, file: string): void {
  for (const [name, o] of configurable(cmd)) {
    const attr = o.attributeName();
    const source = cmd.getOptionValueSource(attr);
    if (source !== undefined && source !== 'default') continue;
    const found = lookup(config, cmd, name);
    if (!found) continue;
    try {
      cmd.setOptionValueWithSource(attr, parseValue(o, found.value, `"${found.key}"`), 'config');
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw invalid(file, e.message);
      throw e;
    }
  }
}

/** A value every run needs but no layer gave: a usage error naming the flag, variable and file key. */
export function requireSetting<T>(value: T | undefined, flag: string, envVar: string): T {
  if (value === undefined || value === '') {
    throw new PouwError('usage', `${flag} is required (or set ${envVar}, or "${flag.replace(/^--/, '')}" in the configuration file)`);
  }
  return value;
}
