/**
 * Latency recording without allocation on the hot path: one preallocated Float64Array, reused for
 * every measurement, so the recorder does not show up in the memory figures.
 */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private count = 0;
  /** Operations completed, including those beyond the sample capacity. */
  ops = 0;

  constructor(capacity = 2_000_000) {
    this.samples = new Float64Array(capacity);
  }

  reset(): void {
    this.count = 0;
    this.ops = 0;
  }

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    this.ops++;
    if (this.count < this.samples.length) this.samples[this.count++] = ms;
  }

  /** Percentile (0..100) of the recorded latencies, in milliseconds. Sorts in place. */
  percentiles(...ps: number[]): number[] {
    const view = this.samples.subarray(0, this.count);
    view.sort();
    return ps.map((p) => (this.count === 0 ? NaN : view[Math.min(this.count - 1, Math.floor((p / 100) * this.count))]));
  }

  /** Copies the samples out (used to merge rounds). */
  snapshot(): Float64Array {
    return this.samples.slice(0, this.count);
  }
}

/** Percentiles of several sample arrays merged. */
export function mergedPercentiles(parts: Float64Array[], ...ps: number[]): number[] {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  all.sort();
  return ps.map((p) => (total === 0 ? NaN : all[Math.min(total - 1, Math.floor((p / 100) * total))]));
}
