/**
 * Tenure as a library (`import { openContext, compareDatasets } from "tenure"`): the registry on
 * a database of its own, the drift comparison of two datasets, the clocks and the health score,
 * and the types of what they return. The CLI and the HTTP server are built on the same parts.
 */

export { type Context, type ContextOptions, openContext } from "./context.js";
export { type AgeBlock, type AgeStage, computeAge, describeAge } from "./core/age.js";
export {
  type ColumnDrift,
  type CompareOptions,
  compareDatasets,
  type Dataset,
  type DatasetDrift,
} from "./core/drift/compare.js";
export {
  type ColumnKind,
  type ColumnSample,
  DRIFT_METHODS,
  type DriftMethod,
  type DriftState,
} from "./core/drift/detect.js";
export {
  ConflictError,
  type FieldIssue,
  ForbiddenError,
  InputError,
  NotFoundError,
  UnauthenticatedError,
  UnprocessableError,
} from "./core/errors.js";
export type { FindingKind } from "./core/finding.js";
export { computeHealth, type Health, type HealthInput, type Verdict } from "./core/health.js";
export type { Policy } from "./core/policy.js";
export type { DeploymentRole, DeploymentStatus } from "./core/words.js";
export { type DatasetFile, type ReadOptions, readDataset } from "./monitoring/dataset-reader.js";
export type { Actor } from "./registry/actor.js";
export { RegisterDeploymentBody } from "./registry/deployment-input.js";
export type { DeploymentView, EventView, ModelView } from "./registry/deployment-view.js";
export {
  type ListQuery,
  type ListResult,
  type Registration,
  Registry,
  type RegistryOptions,
} from "./registry/registry.js";
export { VERSION } from "./version.js";
