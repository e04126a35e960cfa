import { describe, expect, it } from "vitest";
import { deploymentAgeSeconds, isHeaderValue, metadataHeaders } from "./metadata-headers.js";

describe("metadataHeaders", () => {
  it("writes every header in the contract's order, times as ISO 8601 UTC with milliseconds", () => {
    expect(
      metadataHeaders({
        model: "fraud-gbm",
        model_version: "3.2.0",
        deployment_id: 7,
        deployment_date: Date.parse("2026-11-01T08:30:00Z"),
        training_data_cutoff: Date.parse("2026-10-01"),
        owner_team: "risk",
      }),
    ).toEqual([
      "tenure-model",
      "fraud-gbm",
      "tenure-model-version",
      "3.2.0",
      "tenure-deployment-id",
      "7",
      "tenure-deployment-date",
      "2026-11-01T08:30:00.000Z",
      "tenure-training-data-cutoff",
      "2026-10-01T00:00:00.000Z",
      "tenure-owner-team",
      "risk",
    ]);
  });

  it("leaves out what is unknown, and what cannot be a header value, rather than stamping it wrong", () => {
    expect(
      metadataHeaders({ model: "fraud-gbm", owner_team: "risk\nteam", deployment_date: Number.NaN }),
    ).toEqual(["tenure-model", "fraud-gbm"]);
  });
});

describe("deploymentAgeSeconds", () => {
  it("counts whole seconds, and never below zero for a deployment dated ahead of the clock", () => {
    expect(deploymentAgeSeconds(0, 1_999)).toBe(1);
    expect(deploymentAgeSeconds(5_000, 1_000)).toBe(0);
  });
});

describe("isHeaderValue", () => {
  it.each([
    ["3.2.0", true],
    ["team a\tb", true],
    ["line\r\nbreak", false],
    ["ünicode", true],
    ["emoji 🙂", false],
  ])("%j → %s", (text, ok) => {
    expect(isHeaderValue(text)).toBe(ok);
  });
});
