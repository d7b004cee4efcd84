/**
 * Where the CLI keeps things on disk: the one place that knows the layout.
 *
 * - config: `$XDG_CONFIG_HOME/pouw/config.json`, or the file `POUW_CONFIG` names
 * - data:   `$XDG_DATA_HOME/pouw/` with `keys/` (shared by every network, since
 *   an address is a key plus the network's prefix) and `<network>/` per network.
 *
 * Platform defaults come from env-paths (XDG on Linux, the native locations on
 * macOS and Windows). An explicitly set absolute `XDG_DATA_HOME` or
 * `XDG_CONFIG_HOME` wins on every platform, so one setting moves the whole tree
 * everywhere (scripts, tests, containers). Nothing here creates directories.
 * @module
 */
import { isAbsolute, join, resolve } from 'node:path';
import envPaths from 'env-paths';

export const APP_NAME = 'pouw';
export const CONFIG_FILE_NAME = 'config.json';

export interface PouwPaths {
  /** Directory of `config.json`. */
  configDir: string;
  configFile: string;
  /** Root of everything the CLI stores. */
  dataDir: string;
  /** One `<name>.json` per key. */
  keysDir: string;
}

type Env = Record<string, string | undefined>;

/** An XDG variable when it is set to an absolute path (the spec says to ignore relative ones). */
function xdg(env: Env, name: string): string | undefined {
  const value = env[name];
  return value && isAbsolute(value) ? value : undefined;
}

/** The layout for `env` (process.env by default; read on every call, never cached). */
export function pouwPaths(env: Env = process.env): PouwPaths {
  const defaults = envPaths(APP_NAME, { suffix: '' });
  const dataHome = xdg(env, 'XDG_DATA_HOME');
  const configHome = xdg(env, 'XDG_CONFIG_HOME');
  const dataDir = dataHome ? join(dataHome, APP_NAME) : defaults.data;
  const configDir = configHome ? join(configHome, APP_NAME) : defaults.config;
  return {
    configDir,
    configFile: env.POUW_CONFIG ? resolve(env.POUW_CONFIG) : join(configDir, CONFIG_FILE_NAME),
    dataDir,
    keysDir: join(dataDir, 'keys'),
  };
}

/** Data directory of one network: `$XDG_DATA_HOME/pouw/<network>`. */
export function networkDataDir(network: string, env: Env = process.env): string {
  return join(pouwPaths(env).dataDir, network);
}

/** Whether a process with this pid exists (one owned by another user counts). */
export function processAlive(pid: unknown): boolean {
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return false;
  try {
    process.kill(pid as number, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
