import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { AttemptOutcome } from "../../alerts/dispatcher.js";
import type { Telemetry } from "../../context.js";
import { LATENCY_BOUNDS_MS } from "../../gateway/traffic-report.js";
import type { SweepEnded } from "../../lifecycle/sweeper.js";
import type { RateLimitKind } from "../rate-limit.js";
import { BucketHistogram, keyOf } from "./bucket-histogram.js";
import {
  DEPLOYMENT_LABELS,
  type DeploymentLabels,
  FleetGauges,
  labelsOf,
  type ScrapeSource,
} from "./fleet-gauges.js";

export type { ScrapeSource } from "./fleet-gauges.js";

export interface PrometheusMetricsOptions {
  version: string;
  /** The process's CPU, memory, event loop and GC (prom-client's default metrics); on by default. */
  processMetrics?: boolean;
}

const LEGACY_TOTAL_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Sweeps take from milliseconds (a small fleet) to minutes (a hundred thousand deployments). */
const SWEEP_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * What `GET /metrics` exposes, in a registry of its own (never prom-client's global one): built
 * once by the server, which hands its `telemetry` to the context so that sweeps, delivery attempts
 * and traffic reports of this process are counted as they happen, and `readFrom` the store for
 * the gauges computed at each scrape (see FleetGauges). Every label is bounded: deployments by
 * the live fleet, channels and metrics by the policy file; ghost models, which clients name, are
 * counted without one.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  private source: ScrapeSource | undefined;
  private collecting: Promise<void> | undefined;
  private readonly gauges: FleetGauges;
  private readonly sweepDuration: Histogram;
  private readonly sweeps: Counter;
  private readonly deliveries: Counter;
  private readonly retries: Counter;
  private readonly gatewayRequests: Counter;
  private readonly gatewayErrors: Counter;
  private readonly gatewayTimeouts: Counter;
  private readonly gatewayLatency: BucketHistogram;
  private readonly ghostRequests: Counter;
  private readonly rateLimited: Counter;
  /** The label sets of the gateway series, by key, to drop those of deployments no longer live. */
  private readonly gatewaySeries = new Map<string, DeploymentLabels>();

  constructor(options: PrometheusMetricsOptions) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges that prom-client names like counters (promtool check metrics refuses them); the
      // same counts are there per type as nodejs_active_handles and nodejs_active_resources.
      for (const name of LEGACY_TOTAL_GAUGES) this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name: "tenure_build_info",
      help: "1, labelled with the running version.",
      labelNames: ["version"],
      registers,
    }).set({ version: options.version }, 1);
    this.gauges = new FleetGauges(this.registry, () => this.collect());
    this.sweepDuration = new Histogram({
      name: "tenure_sweep_duration_seconds",
      help: "How long the sweeps this process ran took.",
      labelNames: ["outcome"],
      buckets: SWEEP_BUCKETS_SECONDS,
      registers,
    });
    this.sweeps = new Counter({
      name: "tenure_sweeps_total",
      help: "Sweeps this process ran, by outcome (done, failed).",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of ["done", "failed"]) this.sweeps.inc({ outcome }, 0);
    this.deliveries = new Counter({
      name: "tenure_alert_deliveries_total",
      help: "Deliveries to channels that ended, by channel and outcome (delivered, failed: dead-lettered after its last attempt).",
      labelNames: ["channel", "outcome"],
      registers,
    });
    this.retries = new Counter({
      name: "tenure_alert_delivery_retries_total",
      help: "Delivery attempts that failed and will be tried again, by channel.",
      labelNames: ["channel"],
      registers,
    });
    const gateway = (name: string, help: string) =>
      new Counter({
        name,
        help,
        labelNames: DEPLOYMENT_LABELS,
        registers,
        // The series of deployments that ended are dropped as each scrape reads the live fleet.
        collect: async () => {
          await this.collect();
        },
      });
    this.gatewayRequests = gateway(
      "tenure_gateway_requests_total",
      "Requests gateways reported a live deployment answered or failed.",
    );
    this.gatewayErrors = gateway(
      "tenure_gateway_errors_total",
      "Requests gateways reported failed (5xx answers and failed connections, timeouts included).",
    );
    this.gatewayTimeouts = gateway(
      "tenure_gateway_timeouts_total",
      "Requests gateways reported timed out (counted among the errors too).",
    );
    this.gatewayLatency = new BucketHistogram(
      "tenure_gateway_request_duration_seconds",
      "Latency of the requests gateways reported, in the buckets the gateways count.",
      LATENCY_BOUNDS_MS.map((ms) => ms / 1000),
      this.registry,
      () => this.collect(),
    );
    this.ghostRequests = new Counter({
      name: "tenure_gateway_ghost_requests_total",
      help: "Requests gateways reported for models the registry does not know (ghosts); no model label, as clients choose the names.",
      registers,
    });
    this.rateLimited = new Counter({
      name: "tenure_http_rate_limited_total",
      help: "Requests this process refused with 429 over a rate limit, by limit (token: a token's own; address: a client address's, for requests without a valid token).",
      labelNames: ["limit"],
      registers,
    });
    for (const limit of ["token", "address"] satisfies RateLimitKind[]) this.rateLimited.inc({ limit }, 0);
  }

  /** Counts a request the rate limiter refused (RateLimitOptions.onRefused). */
  onRateLimited(limit: RateLimitKind): void {
    this.rateLimited.inc({ limit });
  }

  /** The callbacks the context calls as work is done in this process. */
  get telemetry(): Telemetry {
    return {
      onSweepEnded: (ended) => this.sweepEnded(ended),
      onDeliveryAttempt: ({ channel, outcome }) => this.deliveryAttempted(channel, outcome),
      onTrafficRecorded: ({ counted, ghosts }) => {
        for (const { row, traffic } of counted) {
          const labels = labelsOf(row);
          this.gatewaySeries.set(keyOf(labels), labels);
          this.gatewayRequests.inc(labels, traffic.requests);
          this.gatewayErrors.inc(labels, traffic.errors);
          this.gatewayTimeouts.inc(labels, traffic.timeouts);
          this.gatewayLatency.add(labels, traffic.latency_buckets, traffic.latency_sum_ms / 1000);
        }
        if (ghosts > 0) this.ghostRequests.inc(ghosts);
      },
    };
  }

  /** Where the scrape-time gauges read the store. */
  readFrom(source: ScrapeSource): void {
    this.source = source;
  }

  /** The exposition text and its content type (text format 0.0.4). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private sweepEnded(ended: SweepEnded): void {
    this.sweeps.inc({ outcome: ended.state });
    this.sweepDuration.observe({ outcome: ended.state }, ended.duration_ms / 1000);
  }

  private deliveryAttempted(channel: string, outcome: AttemptOutcome): void {
    if (outcome === "retry") this.retries.inc({ channel });
    else this.deliveries.inc({ channel, outcome });
  }

  /**
   * Reads the store once for every collect() of a scrape: the first gauge asked starts the
   * reads, the others of the same scrape wait for them.
   */
  private collect(): Promise<void> {
    this.collecting ??= this.read().finally(() => {
      this.collecting = undefined;
    });
    return this.collecting;
  }

  private async read(): Promise<void> {
    const source = this.source;
    if (!source) return;
    const [fleet, alerts, sweeps, deliveries] = await Promise.all([
      source.fleetRows(),
      source.openAlerts(),
      source.lastSweeps(),
      source.waitingDeliveries(),
    ]);
    this.gauges.set({ rows: fleet.items, alerts, sweeps, deliveries });
    const live = new Set(fleet.items.map((row) => keyOf(labelsOf(row))));
    for (const [key, labels] of this.gatewaySeries) {
      if (live.has(key)) continue;
      this.gatewaySeries.delete(key);
      for (const counter of [this.gatewayRequests, this.gatewayErrors, this.gatewayTimeouts])
        counter.remove(labels);
      this.gatewayLatency.remove(labels);
    }
  }
}
