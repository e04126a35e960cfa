/**
 * Benjamini–Hochberg adjusted p-values (Benjamini & Hochberg 1995, "Controlling the False
 * Discovery Rate", JRSS B 57(1)), as `scipy.stats.false_discovery_control(ps, method='bh')`:
 * sort ascending, multiply the i-th by m/i, take the running minimum from the largest down, clip to 1.
 * Rejecting where the adjusted value is ≤ q keeps the expected share of false drifts among the
 * columns called drifted at most q, so testing fifty columns does not make some drift certain.
 */
export function benjaminiHochberg(pvalues: readonly number[]): number[] {
  const m = pvalues.length;
  const order = pvalues.map((_, i) => i).sort((a, b) => (pvalues[a] as number) - (pvalues[b] as number));
  const adjusted = order.map((index, rank) => (pvalues[index] as number) * (m / (rank + 1)));
  for (let i = m - 2; i >= 0; i--) adjusted[i] = Math.min(adjusted[i] as number, adjusted[i + 1] as number);
  const out = new Array<number>(m);
  order.forEach((index, rank) => {
    out[index] = Math.min(1, Math.max(0, adjusted[rank] as number));
  });
  return out;
}
