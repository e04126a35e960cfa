import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListEndpointsCommand } from "@aws-sdk/client-sagemaker";
import { afterEach, describe, expect, it } from "vitest";
import { sendRequest } from "../../src/alerts/channels/send.js";
import { EgressPolicy, type EgressSettings, isEgressRefused } from "../../src/egress-policy.js";
import { loadKubeConfig } from "../../src/integrations/kubernetes/kube-config.js";
import { KubernetesApi } from "../../src/integrations/kubernetes/kubernetes-api.js";
import { OutboundError, requestJson } from "../../src/integrations/outbound-http.js";
import { sagemakerClient } from "../../src/integrations/sagemaker/sagemaker-reader.js";

/** A hosts file for the test: names resolve to what it says, whatever DNS would answer. */
function hosts(table: Record<string, string[]>): NonNullable<EgressSettings["resolve"]> {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}

interface Receiver {
  port: number;
  /** The paths it was asked for, in order. */
  heard: string[];
  server: Server;
}

const servers: Server[] = [];
const policies: EgressPolicy[] = [];

afterEach(async () => {
  await Promise.all(policies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done).closeAllConnections())));
});

/** An HTTP server on `host` that answers `answer` (200 {} by default) and records what it heard. */
async function receiver(
  host = "127.0.0.1",
  answer: (path: string) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 }),
): Promise<Receiver> {
  const heard: string[] = [];
  const server = createServer((request, response) => {
    heard.push(request.url ?? "/");
    const { status, headers } = answer(request.url ?? "/");
    response.writeHead(status, { "content-type": "application/json", ...headers }).end("{}");
  });
  await new Promise<void>((done) => server.listen(0, host, done));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, heard, server };
}

function policy(settings: EgressSettings): EgressPolicy {
  const p = new EgressPolicy(settings);
  policies.push(p);
  return p;
}

describe("the egress policy's verdict on an address", () => {
  const refusedByDefault = [
    ["127.0.0.1", "loopback"],
    ["127.9.9.9", "loopback"],
    ["::1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:169.254.169.254", "metadata"],
    ["64:ff9b::a9fe:a9fe", "metadata"],
    ["64:ff9b::10.0.0.1", "private"],
    ["169.254.169.254", "metadata"],
    ["169.254.170.2", "metadata"],
    ["fd00:ec2::254", "metadata"],
  ] as const;

  it.each(refusedByDefault)("refuses %s (%s) by default", (address, word) => {
    const reason = EgressPolicy.strict().refusal(address);
    expect(reason).toContain(word === "metadata" ? "cloud metadata service" : word);
  });

  it.each(["8.8.8.8", "172.32.0.1", "192.0.2.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])(
    "allows the public address %s",
    (address) => {
      expect(EgressPolicy.strict().refusal(address)).toBeNull();
    },
  );

  it("with private egress allowed, allows loopback, private and link-local, but never a metadata service", () => {
    const open = new EgressPolicy({ allowPrivate: true });
    for (const [address, word] of refusedByDefault) {
      if (word === "metadata") expect(open.refusal(address), address).toContain("TENURE_EGRESS_ALLOW");
      else expect(open.refusal(address), address).toBeNull();
    }
  });

  it("a CIDR list allows what it lists, the metadata address too when listed, and nothing else", () => {
    const listed = new EgressPolicy({ allow: ["10.0.0.0/8", "127.0.0.1/32", "169.254.169.254", "fd00::/8"] });
    expect(listed.refusal("10.200.0.1")).toBeNull();
    expect(listed.refusal("::ffff:10.200.0.1")).toBeNull();
    expect(listed.refusal("127.0.0.1")).toBeNull();
    expect(listed.refusal("169.254.169.254")).toBeNull();
    expect(listed.refusal("fd12::1")).toBeNull();
    expect(listed.refusal("127.0.0.2")).toContain("loopback");
    expect(listed.refusal("192.168.0.1")).toContain("private");
    expect(listed.refusal("169.254.170.2")).toContain("metadata");
  });

  it("refuses to be built from something that is not a CIDR", () => {
    expect(() => new EgressPolicy({ allow: ["10.0.0.0/33"] })).toThrow(/not a CIDR/);
    expect(() => new EgressPolicy({ allow: ["example.com"] })).toThrow(/not a CIDR/);
  });
});

describe("alert channels (sendRequest) check the address they connect to", () => {
  it("a name that resolves to 127.0.0.1 is refused, the receiver hears nothing, and the delivery is not retried", async () => {
    const r = await receiver();
    const egress = policy({ resolve: hosts({ "hooks.example.test": ["127.0.0.1"] }) });
    const result = await sendRequest(
      { url: `http://hooks.example.test:${r.port}/hook`, headers: {}, body: "{}" },
      { timeoutMs: 2_000, now: Date.now, egress },
    );
    expect(result).toMatchObject({ ok: false, status: null, retry: false });
    expect(result.error).toContain(
      "egress refused: hooks.example.test resolves to 127.0.0.1, which is loopback",
    );
    expect(r.heard).toEqual([]);
  });

  it("the same name is delivered when private egress is allowed, or when the CIDR list names the address", async () => {
    const r = await receiver();
    const resolve = hosts({ "hooks.example.test": ["127.0.0.1"] });
    for (const egress of [
      policy({ allowPrivate: true, resolve }),
      policy({ allow: ["127.0.0.1/32"], resolve }),
    ]) {
      const result = await sendRequest(
        { url: `http://hooks.example.test:${r.port}/hook`, headers: {}, body: "{}" },
        { timeoutMs: 2_000, now: Date.now, egress },
      );
      expect(result).toMatchObject({ ok: true, status: 200 });
    }
    expect(r.heard).toEqual(["/hook", "/hook"]);
  });

  it("an IP literal is checked too (net.connect skips lookup for one): 127.0.0.1 and [::ffff:127.0.0.1] are refused", async () => {
    const r = await receiver();
    const egress = policy({});
    for (const host of ["127.0.0.1", "[::ffff:127.0.0.1]"]) {
      const result = await sendRequest(
        { url: `http://${host}:${r.port}/hook`, headers: {}, body: "{}" },
        { timeoutMs: 2_000, now: Date.now, egress },
      );
      expect(result.error).toContain("egress refused");
    }
    expect(r.heard).toEqual([]);
  });

  it("a name that resolves to a public and a loopback address never connects to the loopback one (a rebinding answer is dropped)", async () => {
    const r = await receiver();
    // 192.0.2.1 (TEST-NET-1) is public by these rules and answers nothing: the attempt times out.
    const egress = policy({ resolve: hosts({ "rebind.example.test": ["192.0.2.1", "127.0.0.1"] }) });
    const result = await sendRequest(
      { url: `http://rebind.example.test:${r.port}/hook`, headers: {}, body: "{}" },
      { timeoutMs: 500, now: Date.now, egress },
    );
    expect(result.ok).toBe(false);
    expect(r.heard).toEqual([]);
  });
});

describe("outbound-http (MLflow) checks every redirect", () => {
  it("a redirect from an allowed receiver to another loopback address is refused, and that address hears nothing", async () => {
    const inside = await receiver("127.0.0.2").catch(() => undefined);
    if (!inside) return expect.fail("127.0.0.2 cannot be listened on: Linux routes all of 127.0.0.0/8 to lo");
    const front = await receiver("127.0.0.1", () => ({
      status: 302,
      headers: { location: `http://127.0.0.2:${inside.port}/secret` },
    }));
    const egress = policy({ allow: ["127.0.0.1/32"] });
    const error = await requestJson(
      { url: `http://127.0.0.1:${front.port}/api` },
      { egress, attempts: 3 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundError);
    expect((error as OutboundError).message).toContain("egress refused: 127.0.0.2 is loopback");
    // Refused for good: another attempt cannot change the answer.
    expect((error as OutboundError).attempts).toBe(1);
    expect(front.heard).toEqual(["/api"]);
    expect(inside.heard).toEqual([]);
  });

  it("a redirect to the metadata service is refused even with private egress allowed, by address and by name", async () => {
    const resolve = hosts({ "metadata.example.test": ["169.254.169.254"] });
    const egress = policy({ allowPrivate: true, resolve });
    for (const target of [
      "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      "http://metadata.example.test/computeMetadata/v1/",
    ]) {
      const front = await receiver("127.0.0.1", () => ({ status: 307, headers: { location: target } }));
      const error = await requestJson({ url: `http://127.0.0.1:${front.port}/api` }, { egress }).catch(
        (e: unknown) => e,
      );
      expect((error as Error).message).toContain("169.254.169.254");
      expect((error as Error).message).toContain("cloud metadata service");
      expect(front.heard).toEqual(["/api"]);
    }
  });

  it("an IPv6 loopback receiver is refused by default and reached with private egress allowed", async (context) => {
    const r = await receiver("::1").catch(() => undefined);
    if (!r) return context.skip("no IPv6 loopback on this machine");
    const url = `http://[::1]:${r.port}/api`;
    const refused = await requestJson({ url }, { egress: policy({}) }).catch((e: unknown) => e);
    expect((refused as Error).message).toContain("egress refused: ::1 is loopback");
    expect(r.heard).toEqual([]);
    expect(await requestJson({ url }, { egress: policy({ allowPrivate: true }) })).toEqual({});
    expect(r.heard).toEqual(["/api"]);
  });
});

describe("SageMaker (the AWS SDK's agents) and Kubernetes (client-node's agents) check the address they connect to", () => {
  it("a SageMaker endpoint whose name resolves to 127.0.0.1 is refused, and reached once allowed", async () => {
    const r = await receiver("127.0.0.1", () => ({ status: 200 }));
    const resolve = hosts({ "sagemaker.example.test": ["127.0.0.1"] });
    const make = (egress: EgressPolicy) =>
      sagemakerClient({
        region: "eu-west-1",
        endpoint: `http://sagemaker.example.test:${r.port}`,
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
        maxAttempts: 1,
        egress,
      });
    const strict = make(policy({ resolve }));
    const refused = await strict.send(new ListEndpointsCommand({})).catch((e: unknown) => e);
    strict.destroy();
    expect(isEgressRefused(refused)).toBe(true);
    expect((refused as Error).message).toContain(
      "sagemaker.example.test resolves to 127.0.0.1, which is loopback",
    );
    expect(r.heard).toEqual([]);
    const allowed = make(policy({ allowPrivate: true, resolve }));
    await allowed.send(new ListEndpointsCommand({}));
    allowed.destroy();
    expect(r.heard).toHaveLength(1);
  });

  it("a cluster at a name that resolves to 127.0.0.1 is refused for lists and watches without a retry, and reached once allowed", async () => {
    const r = await receiver("127.0.0.1", (path) =>
      path.includes("watch=true")
        ? { status: 200 }
        : { status: 200, headers: { "content-type": "application/json" } },
    );
    const dir = mkdtempSync(join(tmpdir(), "tenure-egress-"));
    try {
      const file = join(dir, "kubeconfig");
      writeFileSync(
        file,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters:",
          `- name: c\n  cluster:\n    server: http://kube.example.test:${r.port}\n    insecure-skip-tls-verify: true`,
          "users:",
          "- name: u\n  user:\n    token: kube-token",
          "contexts:",
          "- name: ctx\n  context:\n    cluster: c\n    user: u",
          "current-context: ctx",
        ].join("\n"),
      );
      const resolve = hosts({ "kube.example.test": ["127.0.0.1"] });
      const retries: string[] = [];
      const strict = new KubernetesApi(loadKubeConfig({ KUBECONFIG: file }), {
        namespace: null,
        egress: policy({ resolve }),
        onRetry: (retry) => retries.push(retry.reason),
        sleep: async () => {},
      });
      const signal = new AbortController().signal;
      const listed = await strict.list("Deployment", signal).catch((e: unknown) => e);
      expect((listed as Error).message).toContain(
        "kube.example.test resolves to 127.0.0.1, which is loopback",
      );
      expect(retries).toEqual([]);
      const watched = await strict.watch("Deployment", "1", () => {}, signal).catch((e: unknown) => e);
      expect((watched as Error).message).toContain("egress refused");
      expect(r.heard).toEqual([]);
      const allowed = new KubernetesApi(loadKubeConfig({ KUBECONFIG: file }), {
        namespace: null,
        egress: policy({ allowPrivate: true, resolve }),
      });
      expect(await allowed.list("Deployment", signal)).toMatchObject({ items: [] });
      expect(r.heard).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
