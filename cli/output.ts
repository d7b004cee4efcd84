/**
 * How the CLI talks: results on stdout, logs and warnings on stderr, `--json`
 * for machines, colour only on a terminal, and exit codes.
 *
 * With `--json` a command writes exactly one JSON object (one line) on stdout,
 * errors included (`{"error":{"code","message"}}`), and never prompts.
 * Colour is off when the stream is not a TTY, when NO_COLOR is set (non-empty),
 * when FORCE_COLOR is 0 or TERM is dumb; FORCE_COLOR=1 turns it on.
 * @module
 */
import { PouwError } from '../core/errors.js';

/** Exit codes every command shares. */
export const EXIT = {
  ok: 0,
  failure: 1,
  /** Bad arguments, unknown command, bad configuration. */
  usage: 2,
  /** No kernel backend or device that can do the work. */
  noBackend: 3,
} as const;

/** Error codes (or code prefixes) that mean "you called it wrong", exit 2. */
const USAGE_CODES = ['usage', 'bad-key-name', 'unknown-network', 'config-'];
/** Error codes that mean "nothing here can run the kernels", exit 3. */
const NO_BACKEND_CODES = ['no-backend', 'no-device'];

/** The exit code for an operational error code. */
export function exitCodeFor(code: string): number {
  if (USAGE_CODES.some((c) => (c.endsWith('-') ? code.startsWith(c) : code === c))) return EXIT.usage;
  if (NO_BACKEND_CODES.includes(code)) return EXIT.noBackend;
  return EXIT.failure;
}

/** A usage error raised by our own checks (exit 2). */
export function usageError(message: string, code = 'usage'): PouwError {
  return new PouwError(code, message);
}

interface Stream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

type Env = Record<string, string | undefined>;

export function colourEnabled(stream: Stream, env: Env = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export type Paint = (text: string) => string;
export interface Palette {
  red: Paint;
  yellow: Paint;
  green: Paint;
  dim: Paint;
  bold: Paint;
}

function sgr(on: boolean, open: number, close: number): Paint {
  return on ? (t) => `\u001b[${open}m${t}\u001b[${close}m` : (t) => t;
}

export function palette(enabled: boolean): Palette {
  return {
    red: sgr(enabled, 31, 39),
    yellow: sgr(enabled, 33, 39),
    green: sgr(enabled, 32, 39),
    dim: sgr(enabled, 2, 22),
    bold: sgr(enabled, 1, 22),
  };
}

/** One command's output channel. */
export class Output {
  readonly out: Palette;
  readonly err: Palette;

  constructor(
    readonly json: boolean,
    private readonly stdout: Stream = process.stdout,
    private readonly stderr: Stream = process.stderr,
    env: Env = process.env,
  ) {
    this.out = palette(colourEnabled(stdout, env));
    this.err = palette(colourEnabled(stderr, env));
  }

  /** A line of human result text on stdout. */
  result(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  /** The one JSON object of a `--json` command, on stdout. */
  resultJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A log or progress line on stderr. */
  log(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    this.stderr.write(`${this.err.yellow('warning:')} ${text}\n`);
  }

  /** An error: JSON on stdout with --json, else `error: message (code)` on stderr. */
  error(code: string, message: string): void {
    if (this.json) this.resultJson({ error: { code, message } });
    else this.stderr.write(`${this.err.red('error:')} ${message} (${code})\n`);
  }
}

/** Aligned `key  value` rows. */
export function formatRows(rows: [string, string][], indent = ''): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n');
}

/** Columns padded to their widest cell; numeric-looking cells are right-aligned. */
export function formatTable(rows: string[][], indent = ''): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const numeric = /^[\d.,]+(\s?[kMG]?H\/s|\s?G|%|×)?$/;
  return rows
    .map((r) => indent + r.map((c, i) => (numeric.test(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
