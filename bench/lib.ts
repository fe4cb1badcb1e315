/** Small helpers shared by the benchmarks: they compare side by side in one run and print ratios. */

export interface Measured {
  readonly name: string;
  /** Median operations per second over the rounds. */
  readonly opsPerSecond: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Runs each candidate for `roundMs` per round, alternating candidates round by round (so drift
 * in the machine's speed hits all of them alike), and reports the median ops/s of each.
 * `fn` performs `opsPerCall` operations per call.
 */
export function compareThroughput(
  candidates: readonly { readonly name: string; readonly fn: () => unknown; readonly opsPerCall: number }[],
  { rounds = 7, roundMs = 300, warmupMs = 300 } = {},
): Measured[] {
  let sink: unknown;
  for (const c of candidates) {
    const end = performance.now() + warmupMs;
    while (performance.now() < end) sink = c.fn();
  }
  const samples = candidates.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    candidates.forEach((c, i) => {
      let calls = 0;
      const start = performance.now();
      let now = start;
      while (now - start < roundMs) {
        for (let j = 0; j < 64; j++) sink = c.fn();
        calls += 64;
        now = performance.now();
      }
      samples[i]?.push((calls * c.opsPerCall) / ((now - start) / 1000));
    });
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return candidates.map((c, i) => ({ name: c.name, opsPerSecond: median(samples[i] ?? []) }));
}

export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  '));
}

/**
 * Samples RSS every 5 ms from now on; `stop()` returns the peak minus RSS at the start. (The
 * process-wide maxRSS would count start-up peaks, which can exceed what is being measured.)
 */
export function startRssSampler(): { stop(): number } {
  globalThis.gc?.();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  return {
    stop() {
      clearInterval(sampler);
      return Math.max(peak, process.memoryUsage.rss()) - baseline;
    },
  };
}
