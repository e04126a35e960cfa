import { describe, expect, it } from "vitest";
import { parsePointer, resolvePointer } from "../../src/gateway/json-pointer.js";

describe("JSON pointers (RFC 6901)", () => {
  const document = {
    prediction: "fraud",
    outputs: [{ label: 1 }, { label: 2 }],
    "a/b": { "m~n": true },
    "": 0,
  };

  it("resolves the examples of RFC 6901 §5 in kind: members, array indexes, escapes, the whole document", () => {
    expect(resolvePointer(document, parsePointer("/prediction"))).toBe("fraud");
    expect(resolvePointer(document, parsePointer("/outputs/1/label"))).toBe(2);
    expect(resolvePointer(document, parsePointer("/a~1b/m~0n"))).toBe(true);
    expect(resolvePointer(document, parsePointer("/"))).toBe(0);
    expect(resolvePointer(document, parsePointer(""))).toBe(document);
  });

  it("finds nothing for a missing member, a bad index or a path through a scalar", () => {
    expect(resolvePointer(document, parsePointer("/missing"))).toBeUndefined();
    expect(resolvePointer(document, parsePointer("/outputs/01/label"))).toBeUndefined();
    expect(resolvePointer(document, parsePointer("/outputs/-"))).toBeUndefined();
    expect(resolvePointer(document, parsePointer("/prediction/0"))).toBeUndefined();
    expect(resolvePointer(document, parsePointer("/toString"))).toBeUndefined();
  });

  it("decodes ~01 as ~1, not as /", () => {
    expect(parsePointer("/~01")).toEqual(["~1"]);
  });

  it("refuses a pointer that does not start with /", () => {
    expect(() => parsePointer("prediction")).toThrow(/starts with "\/"/);
  });
});
