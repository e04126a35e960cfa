import type { Exchange, GatewayObserver, ModelRoutes } from "./exchange.js";
import { parsePointer } from "./json-pointer.js";
import { readPrediction } from "./prediction-reader.js";
import type { CanaryPrediction } from "./traffic-report.js";

/** Where predictions go: the traffic meter, which sends them in its next TrafficReport. */
export interface PredictionSink {
  addPredictions(predictions: CanaryPrediction[]): void;
}

export interface CanaryRecorderOptions {
  sink: PredictionSink;
  /** RFC 6901 pointer to the prediction in the answers; `/prediction` unless told (the shadow's). */
  predictionPointer?: string;
}

/**
 * A GatewayObserver that notes, for every request of a model with a canary, which side answered
 * it (the primary or the canary) and what it predicted, so that labels posted later by request
 * id score each side (the canary's analysis compares them, unpaired). It reads the copy of the
 * answer the gateway kept (bounded by `--shadow-max-body`; a larger answer reads as no
 * prediction) after the user has been answered: the answer itself is never touched or delayed.
 */
export class CanaryRecorder implements GatewayObserver {
  readonly #sink: PredictionSink;
  readonly #pointer: string[];
  #recorded = 0;

  constructor(options: CanaryRecorderOptions) {
    this.#sink = options.sink;
    this.#pointer = parsePointer(options.predictionPointer ?? "/prediction");
  }

  answered(exchange: Exchange, routes: ModelRoutes): void {
    if (!recordsPredictions(routes)) return;
    const role = exchange.target.role;
    if (role !== "primary" && role !== "canary") return;
    this.#recorded++;
    this.#sink.addPredictions([
      {
        request_id: exchange.request_id,
        deployment_id: exchange.target.deployment_id,
        at: Math.max(0, Math.floor(exchange.started_at)),
        prediction: readPrediction(exchange.response_body, this.#pointer),
      },
    ]);
  }

  ghost(): void {}

  /** Predictions handed to the sink since start, for /healthz and tests. */
  recorded(): number {
    return this.#recorded;
  }
}

/**
 * Whether a model's answers are worth keeping for its canary: while it has one that gets a
 * share of the traffic. The gateway asks this to keep a copy of the answer only then.
 */
export function recordsPredictions(routes: ModelRoutes): boolean {
  return routes.canary !== null && routes.canary.weight > 0;
}
