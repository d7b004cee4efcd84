/**
 * `pouw keys new|show|list`: ed25519 keys kept as files in the data directory.
 *
 * The secret key is printed only by `keys show --secret`. Addresses are shown
 * under the chosen network's prefix (devnet: tpouw1...). Permissions looser
 * than 0600/0700 are reported on stderr but not changed on read.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { Argument, type Command, Option } from 'commander';
import { toHex } from '../core/bytes.js';
import { addressOf, encodeAddress, SEED_BYTES } from '../core/keys.js';
import type { NetworkInfo } from './networks.js';
import { addJsonOption, addNetworkOption, type JsonOpts, type NetworkOpts } from './options.js';
import { formatRows, Output } from './output.js';
import { pouwPaths } from './paths.js';
import {
  createKey,
  DEFAULT_KEY_NAME,
  isModeTooOpen,
  type KeyListEntry,
  listKeys,
  parseKeyName,
  readKey,
  type StoredKey,
} from './keystore.js';

interface KeyView {
  name: string;
  network: string;
  address: string;
  publicKey: string;
  createdAt: string;
  file: string;
  secretKey?: string;
}

function viewOf(key: StoredKey, network: NetworkInfo, withSecret = false): KeyView {
  const view: KeyView = {
    name: key.name,
    network: network.name,
    address: encodeAddress(addressOf(key.publicKey), network.addressPrefix),
    publicKey: toHex(key.publicKey),
    createdAt: key.createdAt,
    file: key.file,
  };
  if (withSecret) view.secretKey = toHex(key.secretKey);
  return view;
}

function rowsOf(view: KeyView): [string, string][] {
  const rows: [string, string][] = [
    ['name', view.name],
    ['network', view.network],
    ['address', view.address],
    ['public key', view.publicKey],
    ['created', view.createdAt],
    ['file', view.file],
  ];
  if (view.secretKey !== undefined) rows.push(['secret key', view.secretKey]);
  return rows;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function warnIfFileOpen(out: Output, key: StoredKey): void {
  if (isModeTooOpen(key.mode)) {
    out.warn(
      `key file ${key.file} is accessible by group or others (mode ${octal(key.mode)}); fix with: chmod 600 ${key.file}`,
    );
  }
}

function warnIfDirOpen(out: Output, dir: string): void {
  try {
    const mode = statSync(dir).mode & 0o777;
    if (isModeTooOpen(mode)) {
      out.warn(`key directory ${dir} is accessible by group or others (mode ${octal(mode)}); fix with: chmod 700 ${dir}`);
    }
  } catch {
    // Missing directory: nothing to warn about.
  }
}

function listEntryJson(entry: KeyListEntry, network: NetworkInfo): object {
  if (entry.key) return { status: 'ok', ...viewOf(entry.key, network) };
  const code = entry.error?.code ?? 'key-corrupt';
  return {
    status: code === 'key-corrupt' ? 'corrupt' : 'unreadable',
    name: entry.name,
    file: entry.file,
    error: { code, message: entry.error?.message ?? '' },
  };
}

export function registerKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('create, show and list signing keys (stored in the data directory)');

  addNetworkOption(
    addJsonOption(
      keys
        .command('new')
        .description('create a new key; refuses to overwrite an existing one')
        .addOption(
          new Option('--name <name>', 'key name (letters, digits, "_", "-")')
            .argParser(parseKeyName)
            .default(DEFAULT_KEY_NAME),
        ),
    ),
  ).action((opts: { name: string } & JsonOpts & NetworkOpts) => {
    const out = new Output(Boolean(opts.json));
    const { keysDir } = pouwPaths();
    const key = createKey(keysDir, opts.name, randomBytes(SEED_BYTES), new Date());
    const view = viewOf(key, opts.network);
    if (out.json) return out.resultJson(view);
    out.result(formatRows(rowsOf(view)));
    out.log(`created key "${key.name}"; back up ${key.file}: it holds the secret key`);
  });

  addNetworkOption(
    addJsonOption(
      keys
        .command('show')
        .description('show a key\'s address and public key (the secret only with --secret)')
        .addArgument(new Argument('[name]', 'key name').argParser(parseKeyName).default(DEFAULT_KEY_NAME))
        .option('--secret', 'also print the secret key (the 32-byte seed)'),
    ),
  ).action((name: string, opts: { secret?: boolean } & JsonOpts & NetworkOpts) => {
    const out = new Output(Boolean(opts.json));
    const { keysDir } = pouwPaths();
    const key = readKey(keysDir, name);
    warnIfDirOpen(out, keysDir);
    warnIfFileOpen(out, key);
    const view = viewOf(key, opts.network, Boolean(opts.secret));
    if (opts.secret && !out.json) out.warn('the secret key below controls this key\'s funds; do not share it');
    if (out.json) return out.resultJson(view);
    out.result(formatRows(rowsOf(view)));
  });

  addNetworkOption(
    addJsonOption(keys.command('list').description('list stored keys; unreadable or corrupt files are marked, not fatal')),
  ).action((opts: JsonOpts & NetworkOpts) => {
    const out = new Output(Boolean(opts.json));
    const { keysDir } = pouwPaths();
    const entries = listKeys(keysDir);
    warnIfDirOpen(out, keysDir);
    for (const entry of entries) {
      if (entry.key) warnIfFileOpen(out, entry.key);
      else out.warn(`${entry.error?.message ?? `key file ${entry.file} is corrupt`} (${entry.error?.code ?? 'key-corrupt'})`);
    }
    if (out.json) {
      return out.resultJson({
        network: opts.network.name,
        keysDir,
        keys: entries.map((e) => listEntryJson(e, opts.network)),
      });
    }
    if (entries.length === 0) {
      out.log(`no keys in ${keysDir}; create one with: pouw keys new`);
      return;
    }
    out.result(
      formatRows(
        entries.map((e): [string, string] =>
          e.key
            ? [e.name, `${viewOf(e.key, opts.network).address}  ${e.key.createdAt}`]
            : [e.name, out.out.red(e.error?.code === 'key-corrupt' || !e.error ? 'CORRUPT' : 'UNREADABLE')],
        ),
      ),
    );
  });
}
