/**
 * Compute tasks on the command line: `pouw task submit|status|list`.
 *
 * `submit` reads the inputs (NumPy .npy matrices), uploads them to the edge
 * as content-addressed blobs, signs a task tx that pays the escrow out of the
 * signer's MAIN balance on the local node's ledger, and routes it through the
 * edge (`POST /v1/tasks`). The task runs on the local node's sector: the
 * node `--sector` (or `--api`) designates. It is schedulable once its escrow
 * is final in the MAIN ledger; `--wait` polls the edge until then.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { TaskJson } from '../api/tasks.js';
import { formatAmount } from '../core/amount.js';
import { fromHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { addressOf, encodeAddress } from '../core/keys.js';
import type { MainAccountJson } from '../api/main.js';
import { gemmTaskPayload, MAX_REDUNDANCY, taskProblemIn, type TaskPayload } from '../core/task.js';
import type { KeyPair } from '../core/keys.js';
import type { Answer, EdgeApi } from '../api/client.js';
import type { IntakeJson } from '../api/routes.js';
import { windowOf } from '../core/time.js';
import { encodeTx, MAIN_CHAIN, signTx, TASK_WORKS, TX_VERSION, type TaskWork } from '../core/tx.js';
import { edgeOf } from './economy.js';
import { readKey, parseKeyName } from './keystore.js';
import { addNodeLocationOptions, nodeApiUrl, nodeRequest, type NodeLocationOpts, type NodeStatus } from './node-client.js';
import { readNpy, type NpyMatrix } from './npy.js';
import { addJsonOption, intArg, type JsonOpts } from './options.js';
import { formatRows, Output } from './output.js';
import { pouwPaths } from './paths.js';
import { amountOf, nonceArg, secondsArg } from './tx.js';

type Opts = NodeLocationOpts & JsonOpts & { edge?: string };

/**
 * Uploads A and B as blobs, signs the task tx and submits both to the edge
 * (`POST /v1/tasks`): the intake answer, or the edge's refusal with its code.
 * What `pouw task submit` and the devnet's task stream send.
 */
export async function submitGemmTask(
  edge: EdgeApi,
  from: KeyPair,
  networkId: Uint8Array,
  tx: { nonce: bigint; fee: bigint; payload: TaskPayload },
  A: Int8Array,
  B: Int8Array,
): Promise<Answer<IntakeJson> & { inputs?: string[] }> {
  const inputs: string[] = [];
  for (const M of [A, B]) {
    const put = await edge.putBlob(new Uint8Array(M.buffer, M.byteOffset, M.byteLength));
    if (!put.ok) return { ...put, message: `the edge refused an input blob: ${put.message}` };
    inputs.push(put.value.hash);
  }
  const signed = signTx({ version: TX_VERSION, chain: MAIN_CHAIN, from: from.publicKey, ...tx }, from.secretKey, networkId);
  const r = await edge.call('task-submit', { body: { tx: signed, raw: encodeTx(signed), inputs } });
  return r.ok ? { ...r, inputs } : { ...r, message: `the edge refused the task: ${r.message}` };
}

interface SubmitOpts extends Opts {
  kind: TaskWork;
  input: string[];
  redundancy: number;
  maxPrice: string;
  deadline: number;
  fee: string;
  from: string;
  nonce?: bigint;
  wait?: number;
}

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new PouwError('bad-input', `cannot read ${path}: ${(e as Error).message}`);
  }
}

async function submit(opts: SubmitOpts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  if (opts.kind !== 'gemm-i8') throw new PouwError('usage', `--kind ${opts.kind}: no executor runs ${opts.kind} tasks yet; gemm-i8 tasks run`);
  if (opts.input.length !== 2) throw new PouwError('usage', `a gemm-i8 task takes two --input matrices (A, then B), got ${opts.input.length}`);
  const [a, b] = opts.input.map((p) => readNpy(readInput(p), 'int8', p)) as [NpyMatrix<Int8Array>, NpyMatrix<Int8Array>];
  if (a.cols !== b.rows) throw new PouwError('bad-input', `A is ${a.rows}×${a.cols} and B ${b.rows}×${b.cols}: A's columns must be B's rows`);
  const api = nodeApiUrl(opts);
  const status = await nodeRequest<NodeStatus>(api, '/v1/status');
  const key = readKey(pouwPaths().keysDir, opts.from);
  const { decimals, symbol } = status.main;
  const escrow = amountOf(opts.maxPrice, decimals, '--max-price');
  const fee = amountOf(opts.fee, decimals, '--fee');
  const edge = edgeOf(status, opts.edge);
  const deadline = windowOf(Date.now() + opts.deadline * 1000, status.genesisTimeMs, status.main.windowMs);
  const payload = gemmTaskPayload({ A: a.data, B: b.data, m: a.rows, k: a.cols, n: b.cols, sector: status.sectorId, redundancy: opts.redundancy, escrow, deadline });
  // The shape rules of the node's sector: refused here, before anything is uploaded or paid.
  const problem = taskProblemIn(payload, { slug: status.sector, workKinds: status.workKinds, lottery: { ...status.lottery, macsPerHash: BigInt(status.lottery.macsPerHash) } });
  if (problem !== null) throw new PouwError('bad-task', `this task cannot run on ${status.sector}: ${problem}`);
  const from = encodeAddress(addressOf(key.publicKey), status.addressPrefix);
  const account = await nodeRequest<MainAccountJson>(api, `/v1/main/accounts/${from}`);
  if (BigInt(account.balance) < escrow + fee) {
    throw new PouwError('insufficient-funds', `${from} holds ${formatAmount(BigInt(account.balance), decimals)} ${symbol} on this node's MAIN ledger; the escrow and fee need ${formatAmount(escrow + fee, decimals)} ${symbol}`);
  }
  const nonce = opts.nonce ?? BigInt(account.nonce);
  const r = await submitGemmTask(edge, key, fromHex(status.networkId), { nonce, fee, payload }, a.data, b.data);
  if (!r.ok) throw new PouwError(r.code, r.message);
  const inputs = r.inputs!;
  let task: TaskJson | undefined;
  if (opts.wait !== undefined) {
    const until = Date.now() + opts.wait * 1000;
    for (;;) {
      const s = await edge.call('task-status', { params: { txid: r.value.txid } });
      if (s.ok && s.value.state !== 'pending') {
        task = s.value;
        break;
      }
      if (Date.now() > until) throw new PouwError('task-wait-timeout', `task ${r.value.txid} is still pending after ${opts.wait} s`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
  const result = { txid: r.value.txid, window: r.value.window, state: task?.state ?? 'pending', sector: status.sector, dims: [a.rows, a.cols, b.cols], inputs, escrow: escrow.toString(), deadline };
  if (out.json) return out.resultJson(result);
  out.result(
    formatRows([
      ['task', result.txid],
      ['sector', status.sector],
      ['work', `gemm-i8 ${a.rows}×${a.cols} · ${b.rows}×${b.cols}`],
      ['escrow', `${formatAmount(escrow, decimals)} ${symbol}`],
      ['deadline', `window ${deadline}`],
      ['inputs', inputs.join(', ')],
      ['state', task ? `${task.state}${task.finalWindow !== null ? ` (final in window ${task.finalWindow})` : ''}` : `pending in window ${r.value.window}: schedulable once its escrow is final`],
    ]),
  );
}

function taskRows(t: TaskJson): [string, string][] {
  return [
    ['task', t.id],
    ['sector', String(t.sector)],
    ['work', `${t.work} ${t.dims.join('×')}`],
    ['redundancy', String(t.redundancy)],
    ['escrow', t.escrow],
    ['deadline', `window ${t.deadline}`],
    ['state', t.state + (t.finalWindow !== null ? ` (final in window ${t.finalWindow})` : '')],
    ['inputs', t.inputs.join(', ')],
  ];
}

async function status(txid: string, opts: Opts): Promise<void> {
  const out = new Output(Boolean(opts.json));
  if (!/^[0-9a-f]{64}$/.test(txid)) throw new PouwError('usage', 'a task id is its tx id: 64 lower-case hex characters');
  const node = await nodeRequest<NodeStatus>(nodeApiUrl(opts), '/v1/status');
  const r = await edgeOf(node, opts.edge).call('task-status', { params: { txid } });
  if (!r.ok) throw new PouwError(r.code, r.message);
  if (out.json) return out.resultJson(r.value);
  out.result(formatRows(taskRows(r.value)));
}

async function list(opts: Opts & { state?: string; all?: boolean }): Promise<void> {
  const out = new Output(Boolean(opts.json));
  const node = await nodeRequest<NodeStatus>(nodeApiUrl(opts), '/v1/status');
  const query: Record<string, string> = opts.all ? {} : { sector: node.sector };
  if (opts.state) query.state = opts.state;
  const r = await edgeOf(node, opts.edge).call('task-list', { query });
  if (!r.ok) throw new PouwError(r.code, r.message);
  if (out.json) return out.resultJson(r.value);
  if (r.value.tasks.length === 0) return out.result('no tasks');
  out.result(r.value.tasks.map((t) => `${t.id.slice(0, 16)}…  sector ${t.sector}  ${t.work.padEnd(7)} ${t.dims.join('×').padEnd(14)} ${t.state.padEnd(8)} deadline ${t.deadline}`).join('\n'));
}

export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('paid compute tasks: their work mines the blocks of the sector that runs them');
  const edgeOption = () => new Option('--edge <url>', 'edge to use (default: the one the node is linked to)');
  addJsonOption(
    addNodeLocationOptions(
      task
        .command('submit')
        .description("pay a task's escrow in MAIN and upload its inputs; it runs on the sector of the node --sector names")
        .addOption(new Option('--kind <kind>', 'what to compute').choices([...TASK_WORKS]).default('gemm-i8'))
        .addOption(new Option('--input <file...>', 'input matrices as .npy (gemm-i8: A, then B; int8 entries in [-64, 64])').default([] as string[]))
        .addOption(new Option('--redundancy <n>', 'executors whose agreeing results the task needs').argParser(intArg('redundancy', 1, MAX_REDUNDANCY)).default(1))
        .addOption(new Option('--max-price <main>', 'MAIN paid into escrow: the most the task can cost').default('1'))
        .addOption(new Option('--deadline <seconds>', 'seconds from now until the task can no longer be worked on').argParser(secondsArg).default(600))
        .addOption(new Option('--fee <main>', 'MAIN fee of the task tx').default('0.0001'))
        .addOption(new Option('--from <key>', 'name of the stored key that pays').argParser(parseKeyName).default('default').env('POUW_FROM'))
        .addOption(new Option('--nonce <n>', "nonce (default: the payer's next on this node's MAIN ledger)").argParser(nonceArg))
        .addOption(edgeOption())
        .addOption(new Option('--wait [seconds]', 'wait until the escrow is final (default 600 s)').argParser(secondsArg).preset(600)),
    ),
  ).action(submit);
  addJsonOption(addNodeLocationOptions(task.command('status').description('one task as the edge knows it').argument('<task>', 'the task tx id').addOption(edgeOption()))).action(status);
  addJsonOption(
    addNodeLocationOptions(
      task
        .command('list')
        .description("tasks of the node's sector (or --all), newest first")
        .option('--all', 'every sector')
        .addOption(new Option('--state <state>', 'only tasks in this state').choices(['pending', 'open', 'expired', 'void']))
        .addOption(edgeOption()),
    ),
  ).action(list);
}
