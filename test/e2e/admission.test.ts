import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { admissionReview, withoutMetadata } from "../support/admission-reviews.js";
import { canMakeCertificates, makeCertificates, requestOverTls } from "../support/certificates.js";
import { expectOneLineFailure, runTenure, startServe, tempDir } from "../support/process.js";

/** `tenure serve` as the Deployment in deploy/kubernetes runs it: the webhook on, over HTTPS. */
describe.runIf(canMakeCertificates())(
  "tenure serve --k8s-admission as a process",
  { timeout: 60_000 },
  () => {
    async function serveWebhook(how: "flags" | "environment") {
      const dir = tempDir();
      const certificates = makeCertificates(dir.path);
      const database = join(dir.path, "tenure.db");
      const server = await startServe(
        how === "flags"
          ? {
              cwd: dir.path,
              database,
              extraArgs: [
                "--k8s-admission",
                "--tls-cert",
                certificates.certFile,
                "--tls-key",
                certificates.keyFile,
              ],
              tls: { ca: certificates.ca },
            }
          : {
              cwd: dir.path,
              database,
              env: {
                TENURE_K8S_ADMISSION: "1",
                TENURE_TLS_CERT: certificates.certFile,
                TENURE_TLS_KEY: certificates.keyFile,
              },
              tls: { ca: certificates.ca },
            },
      );
      const review = (body: unknown) =>
        requestOverTls(`${server.url}/k8s/admission`, {
          ca: certificates.ca,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      return {
        server,
        review,
        stop: async () => {
          await server.stop();
          dir.remove();
        },
      };
    }

    it.each(["flags", "environment"] as const)(
      "answers AdmissionReviews over HTTPS when turned on by %s, and says so when it starts",
      async (how) => {
        const { server, review, stop } = await serveWebhook(how);
        try {
          const allowed = await review(admissionReview("deployment-create"));
          expect(allowed.status).toBe(200);
          expect(JSON.parse(allowed.body).response).toMatchObject({ allowed: true });
          const denied = JSON.parse(
            (await review(withoutMetadata(admissionReview("deployment-create")))).body,
          );
          expect(denied.response).toMatchObject({ allowed: false, status: { code: 403 } });
          expect(JSON.parse(await server.startupLine())).toMatchObject({
            k8s_admission: true,
            tls: true,
            url: expect.stringMatching(/^https:/),
          });
        } finally {
          await stop();
        }
      },
    );
  },
);

describe("tenure serve's TLS flags", () => {
  it.each([
    [["--tls-cert", "tls.crt"], "tenure: --tls-cert needs --tls-key (or TENURE_TLS_KEY): HTTPS takes both"],
    [["--tls-key", "tls.key"], "tenure: --tls-key needs --tls-cert (or TENURE_TLS_CERT): HTTPS takes both"],
    [
      ["--tls-cert", "missing.crt", "--tls-key", "missing.key"],
      "tenure: the TLS certificate missing.crt does not exist",
    ],
  ])("refuses %j in one line with exit code 2, before it opens anything", async (args, message) => {
    const dir = tempDir();
    try {
      const result = await runTenure(
        ["serve", "--port", "1", "--database", join(dir.path, "tenure.db"), ...args],
        {
          cwd: dir.path,
        },
      );
      expect(expectOneLineFailure(result, 2)).toBe(message);
      expect(existsSync(join(dir.path, "tenure.db"))).toBe(false);
    } finally {
      dir.remove();
    }
  });
});
