// End-to-end tests of the `pouw` bin: each case spawns `node bin/pouw.js`
// (the compiled CLI in dist/) with XDG_DATA_HOME and XDG_CONFIG_HOME pointing
// into a fresh temporary directory. Build first: `npx tsc -p tsconfig.json`.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromHex, toHex } from '../../core/bytes.js';
import { keyPairFromSeed } from '../../core/keys.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'pouw.js');
const POSIX = process.platform !== 'win32';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  throw new Error('the CLI tests need a build: run `npx tsc -p tsconfig.json` (npm test does)');
}

let home = '';
let dataHome = '';
let configHome = '';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function pouw(args: string[], env: Record<string, string | undefined> = {}, bin = BIN): Run {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('POUW_') || k === 'FORCE_COLOR') delete base[k];
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...base, XDG_DATA_HOME: dataHome, XDG_CONFIG_HOME: configHome, NO_COLOR: '1', ...env },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stdout of a --json run: exactly one JSON object on one line. */
function jsonOf(r: Run): any {
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 1, `one JSON line expected, got: ${r.stdout}`);
  return JSON.parse(lines[0]!);
}

const keysDir = () => join(dataHome, 'pouw', 'keys');
const mode = (path: string) => statSync(path).mode & 0o777;

test.before(() => {
  home = mkdtempSync(join(tmpdir(), 'pouw-cli-'));
  dataHome = join(home, 'data');
  configHome = join(home, 'config');
});

test.after(() => {
  rmSync(home, { recursive: true, force: true });
});

test('--version prints the package version, Node ABI and every backend', () => {
  const r = pouw(['--version']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(VERSION), r.stdout);
  assert.ok(r.stdout.includes(`ABI ${process.versions.modules}`), r.stdout);
  for (const name of ['native', 'wasm', 'js']) assert.match(r.stdout, new RegExp(`^\\s*${name}\\s`, 'm'));
  assert.match(r.stdout, /would use: /);
});

test('version --json has versions and backends, fastest first', () => {
  const r = pouw(['version', '--json']);
  assert.is(r.code, 0, r.stderr);
  const v = jsonOf(r);
  assert.is(v.version, VERSION);
  assert.is(v.nodeAbi, process.versions.modules);
  assert.is(v.node, process.versions.node);
  assert.equal(v.backends.map((b: { name: string }) => b.name), ['native', 'wasm', 'js']);
  const js = v.backends.find((b: { name: string }) => b.name === 'js');
  assert.is(js.available, true);
  for (const b of v.backends) assert.type(b.reason, 'string');
});

test('keys new --json creates a 0600 key file in a 0700 directory', () => {
  const r = pouw(['keys', 'new', '--json']);
  assert.is(r.code, 0, r.stderr);
  const k = jsonOf(r);
  assert.is(k.name, 'default');
  assert.is(k.network, 'devnet');
  assert.ok(k.address.startsWith('tpouw1'), k.address);
  assert.is(k.secretKey, undefined);
  const file = join(keysDir(), 'default.json');
  assert.is(k.file, file);
  const stored = JSON.parse(readFileSync(file, 'utf8'));
  assert.is(stored.version, 1);
  assert.is(stored.publicKey, k.publicKey);
  assert.is(stored.secretKey.length, 64);
  assert.ok(!Number.isNaN(Date.parse(stored.createdAt)));
  assert.not.ok(r.stdout.includes(stored.secretKey), 'secret key printed by keys new');
  if (POSIX) {
    assert.is(mode(file), 0o600);
    assert.is(mode(keysDir()), 0o700);
  }
});

test('keys new refuses to overwrite: exit 1, key-exists', () => {
  const before = readFileSync(join(keysDir(), 'default.json'), 'utf8');
  const r = pouw(['keys', 'new']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /\(key-exists\)/);
  const j = pouw(['keys', 'new', '--name', 'default', '--json']);
  assert.is(j.code, 1);
  assert.is(jsonOf(j).error.code, 'key-exists');
  assert.is(readFileSync(join(keysDir(), 'default.json'), 'utf8'), before);
});

test('keys list --json lists the keys', () => {
  assert.is(pouw(['keys', 'new', '--name', 'alice']).code, 0);
  const r = pouw(['keys', 'list', '--json']);
  assert.is(r.code, 0, r.stderr);
  const list = jsonOf(r);
  assert.equal(
    list.keys.map((k: { name: string }) => k.name),
    ['alice', 'default'],
  );
  for (const k of list.keys) {
    assert.is(k.status, 'ok');
    assert.ok(k.address.startsWith('tpouw1'));
    assert.is(k.secretKey, undefined);
  }
});

test('keys show has no secret unless --secret, which round-trips to the public key', () => {
  const stored = JSON.parse(readFileSync(join(keysDir(), 'alice.json'), 'utf8'));
  const plain = pouw(['keys', 'show', 'alice', '--json']);
  assert.is(plain.code, 0, plain.stderr);
  const shown = jsonOf(plain);
  assert.is(shown.secretKey, undefined);
  assert.not.ok(plain.stdout.includes(stored.secretKey));
  const text = pouw(['keys', 'show', 'alice']);
  assert.is(text.code, 0);
  assert.not.ok(text.stdout.includes(stored.secretKey));
  assert.ok(text.stdout.includes(shown.address));

  const secret = pouw(['keys', 'show', 'alice', '--secret', '--json']);
  assert.is(secret.code, 0, secret.stderr);
  const withSecret = jsonOf(secret);
  assert.is(withSecret.secretKey, stored.secretKey);
  assert.is(toHex(keyPairFromSeed(fromHex(withSecret.secretKey)).publicKey), shown.publicKey);
  assert.is(withSecret.address, shown.address);
});

test('keys show defaults to the key named default', () => {
  const r = pouw(['keys', 'show', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(jsonOf(r).name, 'default');
});

test('a missing key is a failure (exit 1, key-not-found)', () => {
  const r = pouw(['keys', 'show', 'nobody', '--json']);
  assert.is(r.code, 1);
  assert.is(jsonOf(r).error.code, 'key-not-found');
});

test('a bad key name is a usage error (exit 2)', () => {
  for (const args of [
    ['keys', 'new', '--name', 'Bad Name!'],
    ['keys', 'new', '--name', '-dash-first'],
    ['keys', 'new', '--name', 'x'.repeat(65)],
    ['keys', 'show', '../escape'],
  ]) {
    const r = pouw(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /m);
  }
  assert.not.ok(existsSync(join(keysDir(), 'Bad Name!.json')));
});

test('an unknown network is a usage error that lists the known ones', () => {
  const r = pouw(['keys', 'show', '--network', 'mainnet']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /devnet/);
  const j = pouw(['keys', 'list', '--network', 'mainnet', '--json']);
  assert.is(j.code, 2);
  assert.match(jsonOf(j).error.message, /known networks: devnet/);
});

test('an unknown command is a usage error (exit 2), as JSON with --json', () => {
  const r = pouw(['frobnicate']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown command/);
  assert.is(r.stdout, '');
  const j = pouw(['frobnicate', '--json']);
  assert.is(j.code, 2);
  assert.is(jsonOf(j).error.code, 'unknown-command');
  assert.is(pouw(['keys', 'new', '--bogus']).code, 2);
});

test('no command prints help on stderr and exits 2; --help exits 0 on stdout', () => {
  const bare = pouw([]);
  assert.is(bare.code, 2);
  assert.is(bare.stdout, '');
  assert.match(bare.stderr, /Usage: pouw/);
  const help = pouw(['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Exit codes/);
  for (const args of [['keys', '--help'], ['keys', 'new', '--help'], ['devnet', '--help'], ['config', 'path', '--help']]) {
    const r = pouw(args);
    assert.is(r.code, 0, args.join(' '));
    assert.match(r.stdout, /Usage: pouw/);
  }
});

test('config path prints the XDG config file', () => {
  const r = pouw(['config', 'path']);
  assert.is(r.code, 0);
  assert.is(r.stdout.trim(), join(configHome, 'pouw', 'config.json'));
  assert.is(jsonOf(pouw(['config', 'path', '--json'])).path, join(configHome, 'pouw', 'config.json'));
});

test('a corrupt key file: show fails with key-corrupt, list still lists the others', () => {
  const file = join(keysDir(), 'broken.json');
  writeFileSync(file, '{"version":1,"name":"broken",', { mode: 0o600 });
  const show = pouw(['keys', 'show', 'broken']);
  assert.is(show.code, 1);
  assert.match(show.stderr, /\(key-corrupt\)/);
  assert.not.match(show.stderr, /\n\s+at /, 'no stack trace');
  assert.is(jsonOf(pouw(['keys', 'show', 'broken', '--json'])).error.code, 'key-corrupt');

  const list = pouw(['keys', 'list', '--json']);
  assert.is(list.code, 0, list.stderr);
  const keys = jsonOf(list).keys as { name: string; status: string; error?: { code: string } }[];
  assert.equal(
    keys.map((k) => [k.name, k.status]),
    [
      ['alice', 'ok'],
      ['broken', 'corrupt'],
      ['default', 'ok'],
    ],
  );
  assert.is(keys[1]!.error!.code, 'key-corrupt');
  const text = pouw(['keys', 'list']);
  assert.is(text.code, 0);
  assert.match(text.stdout, /broken\s+CORRUPT/);

  // A well-formed file whose public key does not match its secret is corrupt too.
  const alice = JSON.parse(readFileSync(join(keysDir(), 'alice.json'), 'utf8'));
  const other = JSON.parse(readFileSync(join(keysDir(), 'default.json'), 'utf8'));
  writeFileSync(file, JSON.stringify({ ...alice, name: 'broken', publicKey: other.publicKey }), { mode: 0o600 });
  assert.is(jsonOf(pouw(['keys', 'show', 'broken', '--json'])).error.code, 'key-corrupt');
  rmSync(file);
});

test('keys show warns when the key file is readable by others', () => {
  if (!POSIX) return;
  const file = join(keysDir(), 'alice.json');
  chmodSync(file, 0o644);
  try {
    const r = pouw(['keys', 'show', 'alice', '--json']);
    assert.is(r.code, 0);
    assert.match(r.stderr, /warning: .*alice\.json.*0644/);
    assert.ok(jsonOf(r).address.startsWith('tpouw1'));
  } finally {
    chmodSync(file, 0o600);
  }
  assert.is(pouw(['keys', 'show', 'alice']).stderr, '');
});

test('colour only when asked for: none without a TTY or with NO_COLOR', () => {
  const esc = '\u001b[';
  assert.not.ok(pouw(['--version'], { NO_COLOR: undefined }).stdout.includes(esc));
  assert.not.ok(pouw(['--version'], { FORCE_COLOR: '1' }).stdout.includes(esc), 'NO_COLOR wins');
  assert.ok(pouw(['--version'], { NO_COLOR: undefined, FORCE_COLOR: '1' }).stdout.includes(esc));
});

test('the bin explains a missing build instead of crashing', () => {
  const fake = join(home, 'unbuilt');
  mkdirSync(join(fake, 'bin'), { recursive: true });
  copyFileSync(BIN, join(fake, 'bin', 'pouw.js'));
  const r = pouw(['--version'], {}, join(fake, 'bin', 'pouw.js'));
  assert.is(r.code, 1);
  assert.match(r.stderr, /npm install/);
  assert.match(r.stderr, /npm run build/);
});

test.run();
