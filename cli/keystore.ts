/**
 * Key files: one JSON file per key, `<keysDir>/<name>.json`.
 *
 *   { "version": 1, "name", "publicKey": hex, "secretKey": hex (32-byte seed), "createdAt": ISO }
 *
 * The directory is 0700 and each file 0600 (created with that mode, then
 * chmod'ed so a umask cannot loosen it). A file is written to a temporary name
 * and hard-linked into place, so a reader never sees half a key and an
 * existing key is never overwritten, even by a concurrent writer.
 * No encryption at rest yet: the file permissions are the protection.
 * The seed comes from the caller; nothing here draws randomness for keys.
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { equalBytes, fromHexLength, toHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { keyPairFromSeed, PUBLIC_KEY_BYTES, SEED_BYTES } from '../core/keys.js';

export const KEY_FILE_VERSION = 1;
export const KEY_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
export const DEFAULT_KEY_NAME = 'default';
export const KEYS_DIR_MODE = 0o700;
export const KEY_FILE_MODE = 0o600;

const POSIX = process.platform !== 'win32';

/** What a key file holds. */
export interface KeyFileJson {
  version: typeof KEY_FILE_VERSION;
  name: string;
  publicKey: string;
  secretKey: string;
  createdAt: string;
}

export interface StoredKey {
  name: string;
  file: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  createdAt: string;
  /** Permission bits of the file (POSIX), for the loose-permissions warning. */
  mode: number;
}

export interface KeyListEntry {
  name: string;
  file: string;
  key?: StoredKey;
  error?: PouwError;
}

export function isKeyName(value: string): boolean {
  return KEY_NAME_PATTERN.test(value);
}

/** commander argument parser for key names (a usage error when invalid). */
export function parseKeyName(value: string): string {
  if (!isKeyName(value)) {
    throw new InvalidArgumentError(
      'a key name is 1-64 letters, digits, "_" or "-", starting with a letter or digit',
    );
  }
  return value;
}

export function keyFilePath(keysDir: string, name: string): string {
  if (!isKeyName(name)) throw new RangeError(`bad key name: ${name}`);
  return join(keysDir, `${name}.json`);
}

/** True when group or others may read, write or enter (POSIX only). */
export function isModeTooOpen(mode: number): boolean {
  return POSIX && (mode & 0o077) !== 0;
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function ioError(code: string, what: string, e: unknown): PouwError {
  return new PouwError(code, `${what}: ${(e as Error).message}`, { cause: e });
}

/** Creates the keys directory (0700) if needed and tightens it to 0700. */
export function ensureKeysDir(keysDir: string): void {
  try {
    mkdirSync(keysDir, { recursive: true, mode: KEYS_DIR_MODE });
    if (POSIX) chmodSync(keysDir, KEYS_DIR_MODE);
  } catch (e) {
    throw ioError('key-write-failed', `cannot create key directory ${keysDir}`, e);
  }
}

function fsyncDir(dir: string): void {
  if (!POSIX) return;
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort: some filesystems refuse fsync on directories.
  }
}

function keyExists(name: string, file: string): PouwError {
  return new PouwError('key-exists', `a key named "${name}" already exists (${file}); choose another --name`);
}

/** Writes a new key from `seed`; throws PouwError key-exists if the name is taken. */
export function createKey(keysDir: string, name: string, seed: Uint8Array, createdAt: Date): StoredKey {
  const file = keyFilePath(keysDir, name);
  const pair = keyPairFromSeed(seed);
  ensureKeysDir(keysDir);
  if (existsSync(file)) throw keyExists(name, file);

  const json: KeyFileJson = {
    version: KEY_FILE_VERSION,
    name,
    publicKey: toHex(pair.publicKey),
    secretKey: toHex(pair.secretKey),
    createdAt: createdAt.toISOString(),
  };
  const tmp = join(keysDir, `.${name}.json.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', KEY_FILE_MODE);
    try {
      writeSync(fd, `${JSON.stringify(json, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (POSIX) chmodSync(tmp, KEY_FILE_MODE);
    try {
      linkSync(tmp, file); // atomic and never replaces an existing file
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') throw keyExists(name, file);
      // Filesystems without hard links: check, then rename (atomic, but may race).
      if (existsSync(file)) throw keyExists(name, file);
      renameSync(tmp, file);
    }
    fsyncDir(keysDir);
  } catch (e) {
    if (e instanceof PouwError) throw e;
    throw ioError('key-write-failed', `cannot write key file ${file}`, e);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed into place, or never created.
    }
  }
  return readKey(keysDir, name);
}

function corrupt(file: string, why: string): PouwError {
  return new PouwError('key-corrupt', `key file ${file} is corrupt: ${why}`);
}

function parseKeyFile(file: string, name: string, text: string): Omit<StoredKey, 'mode'> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(file, 'not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.version !== KEY_FILE_VERSION) throw corrupt(file, `unsupported version ${JSON.stringify(o.version)}`);
  for (const field of ['name', 'publicKey', 'secretKey', 'createdAt'] as const) {
    if (typeof o[field] !== 'string') throw corrupt(file, `"${field}" is missing or not a string`);
  }
  if (o.name !== name) throw corrupt(file, `it names key "${String(o.name)}" but the file is "${name}.json"`);
  let publicKey: Uint8Array;
  let secretKey: Uint8Array;
  try {
    publicKey = fromHexLength(o.publicKey as string, PUBLIC_KEY_BYTES, 'publicKey');
    secretKey = fromHexLength(o.secretKey as string, SEED_BYTES, 'secretKey');
  } catch (e) {
    throw corrupt(file, (e as Error).message);
  }
  if (!equalBytes(keyPairFromSeed(secretKey).publicKey, publicKey)) {
    throw corrupt(file, 'publicKey does not belong to secretKey');
  }
  const createdAt = o.createdAt as string;
  if (Number.isNaN(Date.parse(createdAt))) throw corrupt(file, `createdAt is not a date: ${createdAt}`);
  return { name, file, publicKey, secretKey, createdAt };
}

/** Reads and checks one key; PouwError key-not-found, key-unreadable or key-corrupt. */
export function readKey(keysDir: string, name: string): StoredKey {
  const file = keyFilePath(keysDir, name);
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') {
      throw new PouwError('key-not-found', `no key named "${name}" (create it with: pouw keys new --name ${name})`);
    }
    throw ioError('key-unreadable', `cannot read key file ${file}`, e);
  }
  return { ...parseKeyFile(file, name, text), mode };
}

/** Every `<name>.json` in the directory, sorted by name; a bad file is an entry with `error`. */
export function listKeys(keysDir: string): KeyListEntry[] {
  let names: string[];
  try {
    names = readdirSync(keysDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .filter(isKeyName)
      .sort();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw ioError('key-unreadable', `cannot list key directory ${keysDir}`, e);
  }
  return names.map((name) => {
    const file = keyFilePath(keysDir, name);
    try {
      return { name, file, key: readKey(keysDir, name) };
    } catch (e) {
      if (e instanceof PouwError) return { name, file, error: e };
      throw e;
    }
  });
}
