import { describe, expect, it } from "vitest";
import { type LifecycleEntry, renderCalendar } from "./calendar.js";

const NOW = Date.UTC(2026, 10, 25, 19, 0, 0);
const OPTIONS = { now: NOW, name: "Tenure: risk", host: "tenure.example.com" };

function entry(overrides: Partial<LifecycleEntry> = {}): LifecycleEntry {
  return {
    deployment_id: 42,
    model: "fraud-gbm",
    model_version: "3.2.0",
    environment: "production",
    owner_team: "risk",
    policy: "default",
    exempt: false,
    due_at: Date.UTC(2026, 11, 1, 9, 0),
    expires_at: Date.UTC(2026, 11, 24, 9, 0),
    link: "https://tenure.example.com/deployments/42",
    ...overrides,
  };
}

interface Property {
  name: string;
  params: string[];
  value: string;
}

interface Component {
  name: string;
  properties: Property[];
  children: Component[];
}

/** A deliberately tiny RFC 5545 reader: unfold, split each line at its first colon, nest BEGIN/END. */
function parse(text: string): Component {
  const root: Component = { name: "", properties: [], children: [] };
  const stack = [root];
  const lines = text.replace(/\r\n[ \t]/g, "").split("\r\n");
  expect(lines.pop()).toBe("");
  for (const line of lines) {
    const colon = line.indexOf(":");
    const [name = "", ...params] = line.slice(0, colon).split(";");
    const value = line.slice(colon + 1);
    const top = stack.at(-1) ?? root;
    if (name === "BEGIN") {
      const child: Component = { name: value, properties: [], children: [] };
      top.children.push(child);
      stack.push(child);
    } else if (name === "END") {
      expect(stack.pop()?.name).toBe(value);
    } else {
      top.properties.push({ name, params, value });
    }
  }
  expect(stack).toHaveLength(1);
  expect(root.children).toHaveLength(1);
  return root.children[0] ?? root;
}

function unescapeText(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_, char: string) => (char.toLowerCase() === "n" ? "\n" : char));
}

function prop(component: Component, name: string): string | undefined {
  return component.properties.find((p) => p.name === name)?.value;
}

function events(text: string): Component[] {
  return parse(text).children.filter((c) => c.name === "VEVENT");
}

function eventByUid(text: string, uid: string): Component {
  const found = events(text).find((e) => prop(e, "UID") === uid);
  if (!found) throw new Error(`no event ${uid}`);
  return found;
}

describe("renderCalendar", () => {
  it("publishes a calendar with its name, refresh hints and two events per deployment", () => {
    const calendar = parse(renderCalendar([entry(), entry({ deployment_id: 7 })], OPTIONS));
    expect(calendar.name).toBe("VCALENDAR");
    expect(calendar.properties.map((p) => [p.name, ...p.params, p.value].join("|"))).toEqual([
      "VERSION|2.0",
      "PRODID|-//Tenure//Lifecycle//EN",
      "CALSCALE|GREGORIAN",
      "METHOD|PUBLISH",
      "X-WR-CALNAME|Tenure: risk",
      "REFRESH-INTERVAL|VALUE=DURATION|PT1H",
      "X-PUBLISHED-TTL|PT1H",
    ]);
    expect(calendar.children.map((c) => c.name)).toEqual(["VEVENT", "VEVENT", "VEVENT", "VEVENT"]);
  });

  it("parses back into review and expiry events carrying every field", () => {
    const text = renderCalendar([entry()], OPTIONS);
    const review = eventByUid(text, "deployment-42-review@tenure.example.com");
    expect(Object.fromEntries(review.properties.map((p) => [p.name, p.value]))).toEqual({
      UID: "deployment-42-review@tenure.example.com",
      DTSTAMP: "20261125T190000Z",
      DTSTART: "20261201",
      DTEND: "20261202",
      SEQUENCE: String(Date.UTC(2026, 11, 1) / 86_400_000),
      SUMMARY: "Review fraud-gbm 3.2.0 (production)",
      DESCRIPTION:
        "Team: risk\\nEnvironment: production\\nPolicy: default\\nhttps://tenure.example.com/deployments/42",
      URL: "https://tenure.example.com/deployments/42",
      CATEGORIES: "tenure,review",
      TRANSP: "TRANSPARENT",
    });
    expect(review.properties.find((p) => p.name === "DTSTART")?.params).toEqual(["VALUE=DATE"]);
    expect(review.children).toEqual([]);

    const expiry = eventByUid(text, "deployment-42-expiry@tenure.example.com");
    expect(prop(expiry, "SUMMARY")).toBe("Expires: fraud-gbm 3.2.0 (production)");
    expect(prop(expiry, "DTSTART")).toBe("20261224");
    expect(prop(expiry, "CATEGORIES")).toBe("tenure,expiry");
    expect(expiry.children).toHaveLength(1);
    const alarm = expiry.children[0] ?? expiry;
    expect(alarm.name).toBe("VALARM");
    expect(prop(alarm, "ACTION")).toBe("DISPLAY");
    expect(prop(alarm, "TRIGGER")).toBe("-P1D");
    expect(prop(alarm, "DESCRIPTION")).toBe("Expires: fraud-gbm 3.2.0 (production)");
  });

  it("shows exempt deployments marked (exempt) and without alarms", () => {
    const text = renderCalendar([entry({ exempt: true })], OPTIONS);
    const [first, second] = events(text);
    expect(prop(first ?? parse(text), "SUMMARY")).toBe("Review fraud-gbm 3.2.0 (production) (exempt)");
    expect(prop(second ?? parse(text), "SUMMARY")).toBe("Expires: fraud-gbm 3.2.0 (production) (exempt)");
    expect(text).not.toContain("VALARM");
  });

  it("ends every line with CRLF and has no bare CR or LF", () => {
    const text = renderCalendar([entry({ owner_team: "risk\nops\r\nml" })], OPTIONS);
    expect(text.endsWith("END:VCALENDAR\r\n")).toBe(true);
    expect(text.replaceAll("\r\n", "")).not.toMatch(/[\r\n]/);
  });

  it("folds at 75 octets without splitting a UTF-8 character, and unfolds to the original", () => {
    const model = `ranker-${"x".repeat(120)}`;
    const team = `équipe-risque-日本語-🚀-${"é".repeat(60)}`;
    const text = renderCalendar([entry({ model, owner_team: team })], OPTIONS);
    // Check the wire bytes, not the JS string: each physical line alone must be valid UTF-8.
    const bytes = Buffer.from(text, "utf8");
    const decoder = new TextDecoder("utf-8", { fatal: true });
    let start = 0;
    let folded = 0;
    for (let i = 0; i < bytes.length - 1; i++) {
      if (bytes[i] !== 0x0d || bytes[i + 1] !== 0x0a) continue;
      const line = bytes.subarray(start, i);
      expect(line.length).toBeLessThanOrEqual(75);
      expect(() => decoder.decode(line)).not.toThrow();
      if (line[0] === 0x20) {
        folded++;
        expect(line[1]).not.toBe(0x20);
      }
      start = i + 2;
    }
    expect(start).toBe(bytes.length);
    expect(folded).toBeGreaterThan(4);

    const review = eventByUid(text, "deployment-42-review@tenure.example.com");
    expect(prop(review, "SUMMARY")).toBe(`Review ${model} 3.2.0 (production)`);
    expect(unescapeText(prop(review, "DESCRIPTION") ?? "")).toBe(
      `Team: ${team}\nEnvironment: production\nPolicy: default\nhttps://tenure.example.com/deployments/42`,
    );
  });

  it("folds a line of 76 octets but not one of exactly 75", () => {
    // "X-WR-CALNAME:" is 13 octets.
    expect(renderCalendar([], { ...OPTIONS, name: "n".repeat(62) })).toContain(
      `\r\nX-WR-CALNAME:${"n".repeat(62)}\r\n`,
    );
    expect(renderCalendar([], { ...OPTIONS, name: "n".repeat(63) })).toContain(
      `\r\nX-WR-CALNAME:${"n".repeat(62)}\r\n n\r\n`,
    );
    // A 2-octet character that would end at octet 76 moves whole to the continuation line.
    expect(renderCalendar([], { ...OPTIONS, name: `${"n".repeat(61)}é` })).toContain(
      `\r\nX-WR-CALNAME:${"n".repeat(61)}\r\n é\r\n`,
    );
  });

  it("escapes backslash, semicolon, comma and newline in text, and round-trips them", () => {
    const model = "a,b;c\\d";
    const team = "risk; ops,\nml\\core";
    const text = renderCalendar([entry({ model, owner_team: team })], {
      ...OPTIONS,
      name: "Tenure, risk; ml",
    });
    const unfolded = text.replace(/\r\n /g, "");
    expect(unfolded).toContain("SUMMARY:Review a\\,b\\;c\\\\d 3.2.0 (production)\r\n");
    expect(unfolded).toContain("DESCRIPTION:Team: risk\\; ops\\,\\nml\\\\core\\nEnvironment");
    expect(unfolded).toContain("X-WR-CALNAME:Tenure\\, risk\\; ml\r\n");
    const review = eventByUid(text, "deployment-42-review@tenure.example.com");
    expect(unescapeText(prop(review, "SUMMARY") ?? "")).toBe(`Review ${model} 3.2.0 (production)`);
    expect(unescapeText(prop(review, "DESCRIPTION") ?? "")).toContain(`Team: ${team}\n`);
  });

  it("keeps a link with a newline from injecting a property", () => {
    const text = renderCalendar([entry({ link: "https://x.example/a b\r\nATTACH:evil" })], OPTIONS);
    expect(text).not.toMatch(/\r\nATTACH/);
    const review = eventByUid(text, "deployment-42-review@tenure.example.com");
    expect(prop(review, "URL")).toBe("https://x.example/a%20b%0D%0AATTACH:evil");
  });

  it("keeps UIDs stable when a review moves the dates, and raises SEQUENCE", () => {
    const before = renderCalendar([entry()], OPTIONS);
    const later = entry({ due_at: Date.UTC(2027, 1, 1), expires_at: Date.UTC(2027, 1, 20) });
    const after = renderCalendar([later], { ...OPTIONS, now: NOW + 86_400_000 });
    const uids = (text: string) => events(text).map((e) => prop(e, "UID"));
    expect(uids(after)).toEqual(uids(before));
    for (const uid of [
      "deployment-42-review@tenure.example.com",
      "deployment-42-expiry@tenure.example.com",
    ]) {
      const oldSequence = Number(prop(eventByUid(before, uid), "SEQUENCE"));
      expect(Number(prop(eventByUid(after, uid), "SEQUENCE"))).toBeGreaterThan(oldSequence);
    }
    expect(renderCalendar([entry()], OPTIONS)).toBe(before);
  });

  it("places all-day events on their UTC date, rolling DTEND over month and year", () => {
    const text = renderCalendar(
      [entry({ due_at: Date.UTC(2026, 2, 10, 23, 30), expires_at: Date.UTC(2026, 11, 31, 23, 59, 59) })],
      OPTIONS,
    );
    const review = eventByUid(text, "deployment-42-review@tenure.example.com");
    expect([prop(review, "DTSTART"), prop(review, "DTEND")]).toEqual(["20260310", "20260311"]);
    const expiry = eventByUid(text, "deployment-42-expiry@tenure.example.com");
    expect([prop(expiry, "DTSTART"), prop(expiry, "DTEND")]).toEqual(["20261231", "20270101"]);
  });

  it("sorts events by date then UID, whatever the input order", () => {
    const sameDay = Date.UTC(2026, 11, 5, 12);
    const text = renderCalendar(
      [
        entry({ deployment_id: 9, due_at: sameDay, expires_at: Date.UTC(2027, 0, 9) }),
        entry({ deployment_id: 10, due_at: sameDay + 3_600_000, expires_at: Date.UTC(2027, 0, 2) }),
        entry({ deployment_id: 3, due_at: Date.UTC(2026, 11, 20), expires_at: Date.UTC(2026, 11, 5) }),
      ],
      OPTIONS,
    );
    expect(events(text).map((e) => prop(e, "UID")?.split("@")[0])).toEqual([
      "deployment-10-review",
      "deployment-3-expiry",
      "deployment-9-review",
      "deployment-3-review",
      "deployment-10-expiry",
      "deployment-9-expiry",
    ]);
  });

  it("renders an empty calendar when no deployment is live", () => {
    const calendar = parse(renderCalendar([], OPTIONS));
    expect(calendar.children).toEqual([]);
    expect(prop(calendar, "X-WR-CALNAME")).toBe("Tenure: risk");
  });
});
