/**
 * NumPy `.npy` files (format versions 1–3), the matrices of `pouw task
 * submit`: a 2-D C-order array of the dtype asked for (int8 `|i1`, float32
 * `<f4`). Anything else is a `bad-input` error naming what was found.
 * @module
 */
import { PouwError } from '../core/errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

export interface NpyMatrix<T extends Int8Array | Float32Array> {
  rows: number;
  cols: number;
  data: T;
}

function header(bytes: Uint8Array, what: string): { dict: string; offset: number } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new PouwError('bad-input', `${what} is not a .npy file`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const [len, at] = major === 1 ? [view.getUint16(8, true), 10] : major === 2 || major === 3 ? [view.getUint32(8, true), 12] : [-1, 0];
  if (len < 0) throw new PouwError('bad-input', `${what}: .npy format version ${major} is unknown`);
  if (at + len > bytes.length) throw new PouwError('bad-input', `${what}: the .npy header runs past the end`);
  return { dict: new TextDecoder().decode(bytes.subarray(at, at + len)), offset: at + len };
}

/** A 2-D matrix of `dtype` from .npy bytes. */
export function readNpy(bytes: Uint8Array, dtype: 'int8', what: string): NpyMatrix<Int8Array>;
export function readNpy(bytes: Uint8Array, dtype: 'float32', what: string): NpyMatrix<Float32Array>;
export function readNpy(bytes: Uint8Array, dtype: 'int8' | 'float32', what: string): NpyMatrix<Int8Array | Float32Array> {
  const { dict, offset } = header(bytes, what);
  const descr = /'descr':\s*'([^']*)'/.exec(dict)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(dict)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
  const want = dtype === 'int8' ? ['|i1', 'i1', '<i1'] : ['<f4'];
  if (descr === undefined || !want.includes(descr)) throw new PouwError('bad-input', `${what}: dtype ${descr ?? '?'}, a ${dtype} matrix needs ${want[0]}`);
  if (fortran !== 'False') throw new PouwError('bad-input', `${what}: the array must be in C order`);
  const dims = (shape ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (dims.length !== 2 || !dims.every((d) => /^\d{1,9}$/.test(d))) throw new PouwError('bad-input', `${what}: shape (${shape ?? ''}) is not a 2-D matrix`);
  const [rows, cols] = dims.map(Number) as [number, number];
  const size = dtype === 'int8' ? 1 : 4;
  if (bytes.length - offset !== rows * cols * size) throw new PouwError('bad-input', `${what}: ${bytes.length - offset} data bytes, a ${rows}×${cols} ${dtype} matrix has ${rows * cols * size}`);
  const body = bytes.slice(offset);
  return { rows, cols, data: dtype === 'int8' ? new Int8Array(body.buffer) : new Float32Array(body.buffer) };
}

/** .npy bytes of a 2-D C-order matrix (what `pouw task` tools and tests write). */
export function writeNpy(m: NpyMatrix<Int8Array | Float32Array>): Uint8Array {
  const descr = m.data instanceof Int8Array ? '|i1' : '<f4';
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  // The header, magic to newline, is padded to a multiple of 64 bytes.
  const pad = 64 - ((10 + dict.length + 1) % 64);
  dict += ' '.repeat(pad % 64) + '\n';
  const head = new Uint8Array(10 + dict.length);
  head.set(MAGIC);
  head[6] = 1;
  head[7] = 0;
  new DataView(head.buffer).setUint16(8, dict.length, true);
  head.set(new TextEncoder().encode(dict), 10);
  const data = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}
