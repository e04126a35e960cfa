import { describe, expect, it } from "vitest";
import { withoutSecretParams } from "../../src/http/request-log.js";

describe("the access log's URL", () => {
  it("keeps a calendar's ?token= out, in any spelling, and the rest of the URL byte for byte", () => {
    expect(withoutSecretParams("/v1/calendar.ics?owner_team=risk&token=tnr_abc&x=%2F")).toBe(
      "/v1/calendar.ics?owner_team=risk&token=***&x=%2F",
    );
    expect(withoutSecretParams("/v1/calendar.ics?TOKEN=tnr_abc&%74oken=tnr_def")).toBe(
      "/v1/calendar.ics?TOKEN=***&%74oken=***",
    );
    expect(withoutSecretParams("/v1/deployments")).toBe("/v1/deployments");
    expect(withoutSecretParams("/v1/deployments?token")).toBe("/v1/deployments?token");
  });
});
