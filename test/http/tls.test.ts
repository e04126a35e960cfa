import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { type RunningServer, type ServeOptions, startServer } from "../../src/http/server.js";
import { admissionReview } from "../support/admission-reviews.js";
import {
  canMakeCertificates,
  makeCertificates,
  requestOverTls,
  type TestCertificates,
} from "../support/certificates.js";
import { pollUntil, tempDir } from "../support/process.js";

describe.runIf(canMakeCertificates())("tenure serve over TLS", () => {
  let dir: ReturnType<typeof tempDir>;
  let certificates: TestCertificates;
  let server: RunningServer | undefined;

  beforeEach(() => {
    dir = tempDir();
    certificates = makeCertificates(dir.path);
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    dir.remove();
  });

  const start = (options: Partial<ServeOptions> = {}) =>
    startServer({
      databaseUrl: join(dir.path, "tenure.db"),
      host: "127.0.0.1",
      port: 0,
      publicRead: false,
      logLevel: "silent",
      tls: { certFile: certificates.certFile, keyFile: certificates.keyFile },
      tlsReloadMs: 50,
      ...options,
    });

  it("serves HTTPS with the given certificate, which a client that trusts the CA accepts", async () => {
    server = await start();
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await requestOverTls(`${server.url}/healthz`, { ca: certificates.ca });
    expect(health.status).toBe(200);
  });

  it("answers an AdmissionReview over HTTPS with --k8s-admission, as the API server calls it", async () => {
    server = await start({ k8sAdmission: true });
    const res = await requestOverTls(`${server.url}/k8s/admission`, {
      ca: certificates.ca,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(admissionReview("deployment-create")),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).response).toMatchObject({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: true,
    });
  });

  it("serves a renewed certificate without a restart, and keeps the one in use while the files do not match", async () => {
    const logFile = join(dir.path, "tenure.log");
    server = await start({ logLevel: "info", logFile });
    const url = `${server.url}/healthz`;
    const first = (await requestOverTls(url, { ca: certificates.ca })).fingerprint;

    // The CA's certificate with the server's key: a pair that cannot be used, as mid-swap.
    writeFileSync(certificates.certFile, certificates.ca);
    await pollUntil("the unusable pair to be reported", () =>
      readFileSync(logFile, "utf8").includes("the TLS files cannot be used") ? true : undefined,
    );
    expect((await requestOverTls(url, { ca: certificates.ca })).fingerprint).toBe(first);

    certificates.renew();
    const renewed = await pollUntil("the renewed certificate to be served", async () => {
      const { fingerprint } = await requestOverTls(url, { ca: certificates.ca });
      return fingerprint === first ? undefined : fingerprint;
    });
    expect(renewed).not.toBe(first);
    expect(readFileSync(logFile, "utf8")).toContain("TLS certificate reloaded");
  });

  it("refuses to start with a key that is not the certificate's, or a missing file, naming it", async () => {
    const otherDir = tempDir();
    try {
      const other = makeCertificates(otherDir.path);
      await expect(
        start({ tls: { certFile: certificates.certFile, keyFile: other.keyFile } }),
      ).rejects.toThrow(/cannot be used together/);
    } finally {
      otherDir.remove();
    }
    const missing = join(dir.path, "missing.crt");
    await expect(start({ tls: { certFile: missing, keyFile: certificates.keyFile } })).rejects.toThrow(
      new InputError(`the TLS certificate ${missing} does not exist`),
    );
  });
});
