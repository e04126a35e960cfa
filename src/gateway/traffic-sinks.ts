import { InputError } from "../core/errors.js";
import type { Actor } from "../registry/actor.js";
import { RejectedReportError, type TrafficSink } from "./traffic-meter.js";
import { TrafficReport } from "./traffic-report.js";

/** What records a report on the registry's side: TrafficMonitor (src/monitoring), by its shape. */
export interface TrafficRecorder {
  record(report: TrafficReport, actor: Actor): Promise<unknown>;
}

/**
 * A gateway that opened the registry's database itself (`--database`) records its reports
 * straight into it, checked by the same schema as `POST /v1/traffic`.
 */
export class LocalTrafficSink implements TrafficSink {
  constructor(
    private readonly recorder: TrafficRecorder,
    private readonly actor: Actor,
  ) {}

  async send(report: TrafficReport): Promise<void> {
    const parsed = TrafficReport.safeParse(report);
    if (!parsed.success)
      throw new RejectedReportError(`the traffic report is not valid: ${parsed.error.message}`);
    try {
      await this.recorder.record(parsed.data, this.actor);
    } catch (error) {
      if (error instanceof InputError) {
        throw new RejectedReportError(
          `${error.message}: ${error.issues.map((i) => `${i.field} ${i.message}`).join("; ")}`,
        );
      }
      throw error;
    }
  }
}

export interface RemoteTrafficSinkOptions {
  /** The registry server's base URL (`--registry`). */
  registry: string;
  /** A bearer token of scope write. */
  token?: string;
  /** How long one report may take to be delivered (default 10 s). */
  timeoutMs?: number;
}

/** Statuses that say the report itself is wrong: sent again, it would be refused again. */
const REFUSED = new Set([400, 413, 415, 422]);

/** A gateway in front of a registry server sends its reports as `POST /v1/traffic`. */
export class RemoteTrafficSink implements TrafficSink {
  private readonly url: URL;

  constructor(private readonly options: RemoteTrafficSinkOptions) {
    this.url = new URL("/v1/traffic", options.registry);
  }

  async send(report: TrafficReport): Promise<void> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
    };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const response = await fetch(this.url, {
      method: "POST",
      headers,
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    if (response.ok) return;
    let detail = `${response.status} ${response.statusText}`;
    try {
      detail = `${response.status}: ${(JSON.parse(text) as { detail?: string }).detail ?? detail}`;
    } catch {
      // Not problem+json (a proxy's error page): the status line says enough.
    }
    const message = `the registry at ${this.options.registry} answered ${detail}`;
    throw REFUSED.has(response.status) ? new RejectedReportError(message) : new Error(message);
  }
}
