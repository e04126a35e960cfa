/**
 * `tenure/sdk`: what a model server needs to speak to Tenure. A typed client for its routes, and
 * middleware for Node's http, Express and Fastify that stamps the metadata headers, sends
 * liveness heartbeats and batches metrics, feature samples and feedback in the background,
 * without ever blocking or failing a request when Tenure is down. Loads no package: Node's own
 * fetch and http only.
 */

export type { BatchCounts } from "./batcher.js";
export { tenureExpress } from "./express.js";
export { type TenureFastifyOptions, tenureFastify } from "./fastify.js";
export { stampResponse, withTenure } from "./node-http.js";
export type { When } from "./record-checks.js";
export {
  type DeploymentPage,
  type DeploymentRecord,
  type FeatureRow,
  type FeedbackItem,
  type FeedbackResult,
  type HeartbeatBody,
  type HeartbeatResult,
  type MetricPoint,
  type MetricsResult,
  type SamplesResult,
  SDK_ROUTES,
  type SdkRoute,
} from "./routes.js";
export {
  type CallOptions,
  type FieldProblem,
  TenureClient,
  type TenureClientOptions,
  TenureRequestError,
} from "./tenure-client.js";
export { type SdkStats, TenureSdk } from "./tenure-sdk.js";
export type { SdkLogger, TenureSdkOptions } from "./tenure-sdk-options.js";
