/**
 * Time rules shared by validation and the beacon: median-time-past and
 * MAIN windows. Pure functions over timestamps in milliseconds; the caller
 * supplies "now" wherever it matters.
 * @module
 */

/**
 * Median of the last `span` timestamps ending at a block (the block itself and
 * its ancestors, fewer near genesis). For an even count the lower middle is
 * taken. A block's time must exceed its parent's median-time-past, so the
 * median never decreases along a chain.
 */
export function medianTimePast(timesOldestFirst: readonly number[], span: number): number {
  if (timesOldestFirst.length === 0) throw new RangeError('no timestamps');
  const last = timesOldestFirst.slice(-span).slice().sort((a, b) => a - b);
  return last[Math.floor((last.length - 1) / 2)]!;
}

/** MAIN window containing `timeMs`: window 0 starts at genesis; earlier times are window −1. */
export function windowOf(timeMs: number, genesisTimeMs: number, windowMs: number): number {
  if (timeMs < genesisTimeMs) return -1;
  return Math.floor((timeMs - genesisTimeMs) / windowMs);
}

/** First millisecond of window `w`. */
export function windowStart(w: number, genesisTimeMs: number, windowMs: number): number {
  return genesisTimeMs + w * windowMs;
}

/** Last millisecond of window `w` (inclusive). */
export function windowEnd(w: number, genesisTimeMs: number, windowMs: number): number {
  return genesisTimeMs + (w + 1) * windowMs - 1;
}
