// What a decoder does with some bytes: 'decoded', or the code of the CodecError it threw (anything else is rethrown).
import { CodecError } from '../../core/errors.js';

export function codecCodeOf(decode: () => unknown): string {
  try {
    decode();
    return 'decoded';
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
}
