import type { Metric, Registry } from "prom-client";

interface Series {
  labels: Record<string, string>;
  /** Per bucket (the overflow last), not cumulative. */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram that takes whole bucket counts at once, as gateways report latency:
 * prom-client's Histogram only observes one value at a time, and a report of a million requests
 * would be a million calls. Registered as prom-client's Registry reads any metric (a name, a
 * type and `get()`); its exposition is the histogram's: cumulative `_bucket{le}`, `_sum`,
 * `_count`.
 */
export class BucketHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** The buckets' upper bounds, ascending, in the metric's unit; +Inf is implied. */
    private readonly bounds: readonly number[],
    registry: Registry,
    /** Awaited before each exposition, as prom-client's metrics await theirs. */
    private readonly collect?: () => Promise<void>,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** Adds a report's counts per bucket (one more than the bounds: the overflow last) and their sum. */
  add(labels: Record<string, string>, buckets: readonly number[], sum: number): void {
    const key = keyOf(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels, buckets: this.bounds.map(() => 0).concat(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    for (let i = 0; i < series.buckets.length; i++) {
      const n = buckets[i] ?? 0;
      series.buckets[i] = (series.buckets[i] ?? 0) + n;
      series.count += n;
    }
    series.sum += sum;
  }

  /** Drops the series of these labels (a deployment no longer live). */
  remove(labels: Record<string, string>): void {
    this.series.delete(keyOf(labels));
  }

  /** The label sets it holds series of. */
  labelSets(): Record<string, string>[] {
    return [...this.series.values()].map((s) => s.labels);
  }

  reset(): void {
    this.series.clear();
  }

  async get() {
    await this.collect?.();
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      series.buckets.forEach((n, i) => {
        cumulative += n;
        const le = i < this.bounds.length ? (this.bounds[i] as number) : "+Inf";
        values.push({
          labels: { ...series.labels, le },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** One key per label set, whatever the order of its names. */
export function keyOf(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((name) => [name, labels[name]]),
  );
}
