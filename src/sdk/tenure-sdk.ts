import { deploymentAgeSeconds, metadataHeaders } from "../core/metadata-headers.js";
import { Availability, describeCounts } from "./availability.js";
import { pause } from "./backoff.js";
import { type BatchCounts, Batcher, type BatchOutcome } from "./batcher.js";
import { checkedFeedback, checkedPoint, checkedRow, type When } from "./record-checks.js";
import type { DeploymentRecord, FeatureRow, FeedbackItem, MetricPoint } from "./routes.js";
import { TenureClient, TenureRequestError } from "./tenure-client.js";
import { type SdkLogger, type SdkSettings, settingsOf, type TenureSdkOptions } from "./tenure-sdk-options.js";

/** What the SDK has done and holds, for a health page or a test. */
export interface SdkStats {
  deployment_id: number | null;
  /** Whether Tenure took the last call (false while it is down, slow, throttling or failing); null before the first. */
  available: boolean | null;
  heartbeats: { sent: number; failed: number; last_at: string | null; version_mismatch: boolean | null };
  metrics: BatchCounts;
  samples: BatchCounts;
  feedback: BatchCounts;
}

interface TimedRow {
  row: FeatureRow;
  at: number;
}

const DAY_MS = 86_400_000;

/**
 * What a model server keeps of Tenure: the deployment it is, the metadata headers it stamps,
 * its liveness heartbeats, and buffers of metric points, feature rows and feedback sent in the
 * background. Nothing it does blocks or throws into the server's requests: records are checked
 * and queued synchronously, every call to Tenure has a timeout, the buffers are bounded (oldest
 * dropped, counted), timers are unref'd, and every promise it starts is settled by itself.
 */
export class TenureSdk {
  readonly client: TenureClient;
  private readonly options: SdkSettings;
  private readonly logger: SdkLogger | null;
  private readonly availability: Availability;
  private readonly clock: () => number;
  private readonly metrics: Batcher<MetricPoint>;
  private readonly samples: Batcher<TimedRow>;
  private readonly feedback: Batcher<FeedbackItem>;
  /** Aborts every call under way, and the waits between attempts, when close() runs out of time. */
  private readonly stopping = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private deployment: DeploymentRecord | null = null;
  /** The metadata headers as a flat name/value list, recomputed when the deployment is known. */
  private stampList: string[];
  private deploymentDate: number | null = null;
  private started = false;
  private closing: Promise<void> | null = null;
  private resolving: Promise<DeploymentRecord | null> | null = null;
  private beating = false;
  private readonly beats: SdkStats["heartbeats"] = {
    sent: 0,
    failed: 0,
    last_at: null,
    version_mismatch: null,
  };

  constructor(options: TenureSdkOptions) {
    this.options = settingsOf(options);
    this.client = new TenureClient(options);
    this.logger = this.options.logger;
    this.clock = this.options.clock;
    this.availability = new Availability({
      origin: this.client.origin,
      maxBuffered: this.options.maxBuffered,
      logger: this.logger,
      clock: this.clock,
    });
    const { batchSize, maxBuffered: capacity } = this.options;
    const known = () => this.deployment !== null && !this.paused();
    this.metrics = new Batcher({
      capacity,
      batchSize,
      ready: known,
      send: (points, signal) =>
        this.sendTo("metric points", (id) => this.client.metrics(id, points, { signal, background: true })),
    });
    this.samples = new Batcher<TimedRow>({
      capacity,
      batchSize,
      // One request carries one timestamp, and the API counts rows by UTC day: a batch stays within a day.
      together: (first, item) => Math.floor(first.at / DAY_MS) === Math.floor(item.at / DAY_MS),
      ready: known,
      send: (rows, signal) =>
        this.sendTo("feature rows", (id) =>
          this.client.samples(
            id,
            rows.map((r) => r.row),
            new Date(rows[0]?.at ?? this.clock()).toISOString(),
            { signal, background: true },
          ),
        ),
    });
    this.feedback = new Batcher({
      capacity,
      batchSize,
      ready: () => !this.paused(),
      send: (items, signal) =>
        this.outcomeOf("feedback", () => this.client.feedback(items, { signal, background: true })),
    });
    this.stampList = metadataHeaders({ model: options.model, model_version: options.servedVersion });
  }

  /**
   * Starts the background work: finding the deployment, heartbeats and sends on their intervals.
   * Idempotent; the middleware calls it, so a server that uses one need not.
   */
  start(): this {
    if (this.started || this.closing !== null) return this;
    this.started = true;
    const heartbeatMs = this.options.heartbeatIntervalMs;
    if (heartbeatMs > 0) this.every(heartbeatMs, () => this.beat());
    this.every(this.options.flushIntervalMs, () => this.tick());
    void (heartbeatMs > 0 ? this.beat() : this.resolve());
    return this;
  }

  /** Records a performance point, stamped now unless a timestamp is given. Never throws. */
  recordMetric(name: string, value: number, options: { sample_size?: number; timestamp?: When } = {}): void {
    if (this.closing !== null) {
      this.metrics.lose(1);
      return;
    }
    const point = checkedPoint(name, value, options ?? {}, this.clock());
    if (typeof point === "string") this.refuse(this.metrics, "metric", point);
    else this.metrics.add(point, this.stopping.signal);
  }

  /** Records one row of live features (a copy: the caller may reuse its object). Never throws. */
  recordSample(row: FeatureRow): void {
    if (this.closing !== null) {
      this.samples.lose(1);
      return;
    }
    const copy = checkedRow(row);
    if (typeof copy === "string") this.refuse(this.samples, "sample", copy);
    else this.samples.add({ row: copy, at: this.clock() }, this.stopping.signal);
  }

  /** Records the ground truth of a served request. Never throws. */
  recordFeedback(requestId: string, label: string | number | boolean): void {
    if (this.closing !== null) {
      this.feedback.lose(1);
      return;
    }
    const item = checkedFeedback(requestId, label);
    if (typeof item === "string") this.refuse(this.feedback, "feedback", item);
    else this.feedback.add(item, this.stopping.signal);
  }

  /**
   * Calls `set` with each metadata header this server's answers carry: what is known of its
   * deployment, and its age in whole seconds. Before Tenure has been reached, only the model and
   * the served version are known.
   */
  stamp(set: (name: string, value: string) => void): void {
    const list = this.stampList;
    for (let i = 0; i + 1 < list.length; i += 2) set(list[i] as string, list[i + 1] as string);
    if (this.deploymentDate !== null) {
      set("tenure-deployment-age", String(deploymentAgeSeconds(this.deploymentDate, this.clock())));
    }
  }

  /** The metadata headers, by lowercase name. */
  headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    this.stamp((name, value) => {
      headers[name] = value;
    });
    return headers;
  }

  /**
   * Sends what is buffered now and resolves when it is sent or put back (after the client's
   * retries, when Tenure is down). Keeps the process open until then. Never rejects.
   */
  async flush(): Promise<void> {
    // The background's timers are unref'd; one who awaits this must not see the process exit first.
    const hold = setInterval(() => {}, 60_000);
    try {
      await this.flushNow();
    } finally {
      clearInterval(hold);
    }
  }

  private async flushNow(): Promise<void> {
    const signal = this.stopping.signal;
    if (this.deployment === null && this.awaitsDeployment()) await this.resolve();
    await Promise.all([this.metrics.flush(signal), this.samples.flush(signal), this.feedback.flush(signal)]);
  }

  /**
   * Stops the timers and sends what is buffered, for at most `timeoutMs` (default 5,000); what
   * is still unsent then is dropped, counted and logged. Idempotent; never rejects.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.timeoutMs ?? 5_000);
    return this.closing;
  }

  stats(): SdkStats {
    return {
      deployment_id: this.deployment?.id ?? null,
      available: this.availability.state,
      heartbeats: { ...this.beats },
      metrics: this.metrics.counts(),
      samples: this.samples.counts(),
      feedback: this.feedback.counts(),
    };
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    const flushed = this.flush();
    // Held open: a server that closes and then closes the SDK must see the last records go.
    const deadline = new AbortController();
    await Promise.race([flushed, pause(timeoutMs, deadline.signal, true)]);
    deadline.abort();
    this.stopping.abort();
    await flushed;
    const unsent = [this.metrics, this.samples, this.feedback].map((batcher) => {
      batcher.discard();
      return batcher.takeUnreported();
    });
    if (unsent.some((count) => count > 0)) {
      this.logger?.warn(`tenure: closed with ${describeCounts(unsent)} unsent (dropped; totals in stats())`);
    }
  }

  private every(ms: number, run: () => Promise<unknown>): void {
    const timer = setInterval(() => void run(), ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** The flush interval: look for the deployment while it is not known, and send what may go. */
  private async tick(): Promise<void> {
    const signal = this.stopping.signal;
    if (this.deployment === null) await this.resolve();
    this.metrics.kick(signal);
    this.samples.kick(signal);
    this.feedback.kick(signal);
  }

  /** One liveness heartbeat, after finding the deployment if need be; one at a time. */
  private async beat(): Promise<void> {
    if (this.beating || this.paused() || this.stopping.signal.aborted) return;
    this.beating = true;
    try {
      const deployment = this.deployment ?? (await this.resolve());
      if (deployment === null) {
        // No deployment to beat for is a heartbeat that did not go.
        this.beats.failed++;
        return;
      }
      const served = this.options.servedVersion;
      const result = await this.client.heartbeat(
        deployment.id,
        served === undefined ? {} : { served_version: served },
        { signal: this.stopping.signal, background: true },
      );
      this.beats.sent++;
      this.beats.last_at = result.last_heartbeat_at;
      this.beats.version_mismatch = result.version_mismatch;
      this.answered();
    } catch (error) {
      this.beats.failed++;
      this.failed(error, "heartbeat");
    } finally {
      this.beating = false;
    }
  }

  /** Finds this server's deployment, one lookup at a time; null while it cannot be found. */
  private resolve(): Promise<DeploymentRecord | null> {
    this.resolving ??= this.lookUp().finally(() => {
      this.resolving = null;
    });
    return this.resolving;
  }

  private async lookUp(): Promise<DeploymentRecord | null> {
    const { deploymentId, model, environment, role, servedVersion } = this.options;
    const signal = this.stopping.signal;
    try {
      const found =
        deploymentId !== undefined
          ? await this.client.deployment(deploymentId, { signal, background: true })
          : await this.client.findDeployment(
              { model: model ?? "", environment, role, served_version: servedVersion },
              { signal, background: true },
            );
      this.answered();
      if (found === null) {
        this.availability.warnOnce(
          `tenure: no live ${role} of ${model} in ${environment} yet; looking again every interval`,
        );
        return null;
      }
      this.adopt(found);
      return found;
    } catch (error) {
      this.failed(error, "finding the deployment");
      return null;
    }
  }

  private adopt(deployment: DeploymentRecord): void {
    this.deployment = deployment;
    this.deploymentDate = Date.parse(deployment.deployment_date);
    this.stampList = metadataHeaders({
      model: deployment.model,
      // The server is the authority on what answered; a registry that disagrees hears it in the heartbeat.
      model_version: this.options.servedVersion ?? deployment.model_version,
      deployment_id: deployment.id,
      deployment_date: this.deploymentDate,
      training_data_cutoff: Date.parse(deployment.training_data_cutoff),
      owner_team: deployment.owner_team,
    });
    this.metrics.kick(this.stopping.signal);
    this.samples.kick(this.stopping.signal);
  }

  /** Sends a batch that belongs to the deployment; kept for later while it is not known. */
  private sendTo(kind: string, call: (id: number) => Promise<unknown>): Promise<BatchOutcome> {
    const deployment = this.deployment;
    if (deployment === null) return Promise.resolve("retry");
    return this.outcomeOf(kind, () => call(deployment.id));
  }

  private async outcomeOf(kind: string, call: () => Promise<unknown>): Promise<BatchOutcome> {
    try {
      await call();
      this.answered();
      return "sent";
    } catch (error) {
      return this.failed(error, kind);
    }
  }

  /** Tenure answered: report what was dropped while it could not take it. */
  private answered(): void {
    this.availability.answered([this.metrics, this.samples, this.feedback].map((b) => b.takeUnreported()));
  }

  /**
   * What a failed call means: try again later (no answer, 408, 429, 5xx) or refused for good (any
   * other 4xx). A `Retry-After` longer than the client waits pauses every send until it passes.
   */
  private failed(error: unknown, what: string): BatchOutcome {
    if (this.stopping.signal.aborted) return "retry";
    if (!(error instanceof TenureRequestError)) {
      this.availability.unavailable(error instanceof Error ? error.message : String(error));
      return "retry";
    }
    if (error.retryAfterMs !== null) this.availability.pauseFor(error.retryAfterMs);
    if (error.transient) {
      this.availability.unavailable(error.message);
      return "retry";
    }
    this.answered();
    const byModel = this.options.deploymentId === undefined;
    if (byModel && (error.status === 404 || error.status === 409) && this.deployment !== null) {
      // Superseded or retired: the model's live deployment is another one now.
      this.deployment = null;
      void this.resolve();
    }
    this.availability.warnOnce(`tenure: ${what} refused: ${error.message}`);
    return "rejected";
  }

  private refuse(batcher: { refuse(count: number): void }, kind: string, reason: string): void {
    batcher.refuse(1);
    this.availability.refused(kind, reason);
  }

  private paused(): boolean {
    return this.availability.paused();
  }

  private awaitsDeployment(): boolean {
    return this.metrics.counts().buffered > 0 || this.samples.counts().buffered > 0;
  }
}
