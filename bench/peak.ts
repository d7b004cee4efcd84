/**
 * The CPU's int8 multiply-add ceiling per kernel unit, from the backend's peak
 * probes (native/src/peak.h): each probe is timed in short runs for its share
 * of the budget and keeps its best rate; a unit's peak is its fastest
 * sequence. Best-of on both sides (probe and kernel) keeps a busy moment from
 * lowering the ceiling below a kernel timed in a quiet one.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { PeakProbe } from '../core/kernel.js';

export interface PeakFigure {
  /** The kernel implementation this ceiling bounds ("avx512-vnni", "avx2", "simd128", ...). */
  unit: string;
  /** Multiply-adds per second of the unit's fastest sequence, 1 thread. */
  macsPerSecond: number;
  /** That sequence. */
  sequence: string;
  /** Every sequence of the unit with its rate. */
  sequences: { sequence: string; macsPerSecond: number }[];
}

/** Best rate of one probe over about `seconds`, in runs of about 10 ms. */
export function probeRate(probe: PeakProbe, seconds: number): number {
  let iterations = 1024;
  let best = 0;
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    const macs = probe.run(iterations);
    const ms = performance.now() - t;
    if (ms >= 2) best = Math.max(best, macs / (ms / 1000));
    if (ms < 10) iterations = Math.min(2 ** 32 - 1, Math.ceil(iterations * (ms > 0.5 ? 10 / ms : 16)));
    if (performance.now() - t0 >= seconds * 1000 && best > 0) return best;
  }
}

/** One figure per unit, in the backend's order (widest first), `seconds` shared among the probes. */
export function measurePeaks(probes: readonly PeakProbe[], seconds: number): PeakFigure[] {
  const share = seconds / Math.max(1, probes.length);
  const figures: PeakFigure[] = [];
  for (const p of probes) {
    const rate = probeRate(p, share);
    let f = figures.find((x) => x.unit === p.unit);
    if (!f) figures.push((f = { unit: p.unit, macsPerSecond: 0, sequence: '', sequences: [] }));
    f.sequences.push({ sequence: p.sequence, macsPerSecond: rate });
    if (rate > f.macsPerSecond) Object.assign(f, { macsPerSecond: rate, sequence: p.sequence });
  }
  return figures;
}

/**
 * The ceiling a kernel implementation is held to: its own unit's, else (a
 * portable or auto-vectorized kernel) the fastest unit of the backend, so the
 * fraction can never be flattered by a narrower unit.
 */
export function peakFor(peaks: readonly PeakFigure[], impl: string): PeakFigure | undefined {
  return peaks.find((p) => p.unit === impl) ?? [...peaks].sort((a, b) => b.macsPerSecond - a.macsPerSecond)[0];
}
