// Settings layers with the real command tree: flags > POUW_* > config file >
// defaults, checked on `pouw node start` (its action replaced by a probe) and
// on `pouw config set/show` through main().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../cli/main.js';
import { PouwError } from '../../core/errors.js';

let dir = '';
let file = '';
const saved = { ...process.env };

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'pouw-settings-'));
  file = join(dir, 'config.json');
  for (const k of Object.keys(process.env)) if (k.startsWith('POUW_')) delete process.env[k];
  process.env.POUW_CONFIG = file;
});
test.after.each(() => {
  process.env = { ...saved };
  rmSync(dir, { recursive: true, force: true });
});

/** The options `node start` would run with. */
async function startOptions(args: string[], config?: object): Promise<Record<string, unknown>> {
  if (config) writeFileSync(file, JSON.stringify(config));
  const program = buildProgram(true);
  const start = program.commands.find((c) => c.name() === 'node')!.commands.find((c) => c.name() === 'start') as Command;
  let seen: Record<string, unknown> = {};
  start.action((opts: Record<string, unknown>) => {
    seen = opts;
  });
  await program.parseAsync(['node', 'pouw', 'node', 'start', ...args]);
  return seen;
}

test('defaults apply when no layer sets a value', async () => {
  const o = await startOptions([]);
  assert.is(o.threads, 1);
  assert.is(o.port, 0);
  assert.equal(o.peer, []);
  assert.is(o.sector, undefined);
  assert.is(o.verifyThreads, undefined, 'the node picks its own default');
});

test('the file beats defaults; a command section beats the top level', async () => {
  const o = await startOptions([], { threads: 3, port: 9100, node: { threads: 2, sector: 'cpu-edge', peer: ['ws://127.0.0.1:9000', 'ws://127.0.0.1:9001'], mine: true } });
  assert.is(o.threads, 2);
  assert.is(o.port, 9100);
  assert.is(o.sector, 'cpu-edge');
  assert.is(o.mine, true);
  assert.equal(o.peer, ['ws://127.0.0.1:9000', 'ws://127.0.0.1:9001']);
});

test('POUW_* beats the file, and a flag beats both', async () => {
  process.env.POUW_THREADS = '4';
  process.env.POUW_SECTOR = 'accel';
  process.env.POUW_PEER = 'ws://127.0.0.1:7000,ws://127.0.0.1:7001';
  const config = { node: { threads: 2, sector: 'cpu-edge', peer: ['ws://127.0.0.1:9000'] } };
  const envWins = await startOptions([], config);
  assert.is(envWins.threads, 4);
  assert.is(envWins.sector, 'accel');
  assert.equal(envWins.peer, ['ws://127.0.0.1:7000', 'ws://127.0.0.1:7001']);
  const flagWins = await startOptions(['--threads', '8', '--sector', 'gpu-hi', '--peer', 'ws://127.0.0.1:6000', '--verify-threads', '0'], config);
  assert.is(flagWins.verifyThreads, 0);
  assert.is(flagWins.threads, 8);
  assert.is(flagWins.sector, 'gpu-hi');
  assert.equal(flagWins.peer, ['ws://127.0.0.1:6000']);
});

async function configError(config: unknown): Promise<PouwError> {
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  try {
    await startOptions([]);
  } catch (e) {
    assert.instance(e, PouwError);
    return e as PouwError;
  }
  throw new Error('expected a config-invalid error');
}

test('a bad file stops the run with config-invalid naming the file and the key', async () => {
  const cases: [unknown, RegExp][] = [
    ['{"threads": 2,', /not valid JSON/],
    ['[1, 2]', /one JSON object/],
    [{ thread: 2 }, /"thread": unknown setting/],
    [{ node: { colour: true } }, /"node.colour": no command under "node"/],
    [{ threads: 0 }, /"threads"/],
    [{ node: { threads: 0 } }, /threads must be an integer in 1..1024/],
    [{ node: { threads: 'many' } }, /threads must be an integer/],
    [{ node: { mine: 'yes' } }, /"node.mine" must be true or false/],
    [{ node: { peer: ['http://127.0.0.1:1'] } }, /is not a ws:\/\/ URL/],
    [{ node: { port: [1, 2] } }, /takes one value, not a list/],
    // A bad value for another command still stops this one: nothing runs on a half-understood file.
    [{ tx: { nonce: 'x' } }, /the nonce must be an integer/],
  ];
  for (const [config, message] of cases) {
    const e = await configError(config);
    assert.is(e.code, 'config-invalid');
    assert.ok(e.message.startsWith(file), e.message);
    assert.match(e.message, message);
  }
});

test('config set checks before writing, and show/unset read it back', async () => {
  const run = async (...args: string[]) => {
    const program = buildProgram(true);
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (lines.push(s), true)) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'pouw', 'config', ...args, '--json']);
    } finally {
      process.stdout.write = write;
    }
    return JSON.parse(lines.join('')) as Record<string, unknown>;
  };
  await run('set', 'node.threads', '2');
  await run('set', 'node.peer', '["ws://127.0.0.1:9000"]');
  await run('set', 'data', `${dir}/chain`);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')), { node: { threads: 2, peer: ['ws://127.0.0.1:9000'] }, data: `${dir}/chain` });
  const before = readFileSync(file, 'utf8');
  for (const bad of [['node.threads', '0'], ['node.nope', '1'], ['bogus', 'x'], ['Node..x', '1']]) {
    const failed = await run('set', ...bad).then(
      () => false,
      (e: unknown) => e instanceof PouwError && e.code === 'config-invalid',
    );
    assert.ok(failed, `config set ${bad.join(' ')} must fail with config-invalid`);
    assert.is(readFileSync(file, 'utf8'), before, `config set ${bad.join(' ')} must leave the file as it was`);
  }
  assert.equal((await run('show')).settings, { node: { threads: 2, peer: ['ws://127.0.0.1:9000'] }, data: `${dir}/chain` });
  assert.equal(await run('unset', 'node.threads'), { path: file, key: 'node.threads', removed: true });
  assert.equal(await run('unset', 'node.threads'), { path: file, key: 'node.threads', removed: false });
  assert.equal((await startOptions([])).peer, ['ws://127.0.0.1:9000']);

  // A bad file stops other commands, but `config` itself can still show the problem and mend it.
  writeFileSync(file, JSON.stringify({ bogus: 1, node: { threads: 2 } }));
  const shown = await run('show').then(
    () => 'ran',
    (e: unknown) => (e instanceof PouwError ? e.code : 'other'),
  );
  assert.is(shown, 'config-invalid');
  assert.equal(await run('unset', 'bogus'), { path: file, key: 'bogus', removed: true });
  assert.equal((await run('show')).settings, { node: { threads: 2 } });
});

test.run();
