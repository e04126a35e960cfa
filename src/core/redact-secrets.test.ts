import { describe, expect, it } from "vitest";
import { headerSecrets, redactSecrets } from "./redact-secrets.js";

describe("redactSecrets", () => {
  it("replaces every occurrence of each secret, the longest first", () => {
    const text = "sent Bearer tok-12345678 and tok-12345678 again";
    expect(redactSecrets(text, ["tok-12345678", "Bearer tok-12345678"])).toBe("sent *** and *** again");
  });

  it("leaves values too short to be credentials alone, so messages stay readable", () => {
    expect(redactSecrets("content-type json", ["json", undefined])).toBe("content-type json");
  });
});

describe("headerSecrets", () => {
  it("gives the credentials after an auth scheme, and other values whole", () => {
    const secrets = headerSecrets({ authorization: "Bearer abcdefgh12", "x-api-key": "k-0123456789" });
    expect(secrets).toEqual(["abcdefgh12", "k-0123456789"]);
    expect(redactSecrets("got Bearer abcdefgh12", secrets)).toBe("got Bearer ***");
  });
});
