import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { hasExternalTool } from "./external-tool.js";

export const OPENSSL = "/usr/bin/openssl";

/** Whether certificates can be made here (openssl); skips in one line locally, fails under CI. */
export const canMakeCertificates = () => hasExternalTool(OPENSSL, "apt-get install openssl");

/** A CA and a server certificate it signed, as cert-manager would put them in a Secret. */
export interface TestCertificates {
  /** The CA's certificate, PEM: what a client (the API server's caBundle) trusts. */
  ca: Buffer;
  certFile: string;
  keyFile: string;
  /** Signs a new server certificate into the same files, as a renewal does. */
  renew(): void;
}

const openssl = (args: string[], cwd: string) => execFileSync(OPENSSL, args, { cwd, stdio: "pipe" });

/**
 * Makes, in `dir`, a CA and a certificate for the webhook's Service name and 127.0.0.1 (where a
 * test reaches it), each EC P-256 and valid for a day.
 */
export function makeCertificates(dir: string): TestCertificates {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(
    [
      "req",
      "-x509",
      ...ec,
      "-days",
      "1",
      "-subj",
      "/CN=tenure-test-ca",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
    ],
    dir,
  );
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:tenure.tenure.svc,IP:127.0.0.1\n");
  const issue = () => {
    openssl(["req", ...ec, "-subj", "/CN=tenure.tenure.svc", "-keyout", "tls.key", "-out", "tls.csr"], dir);
    openssl(
      ["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "tls.crt",
      ]),
      dir,
    );
  };
  issue();
  return {
    ca: readFileSync(join(dir, "ca.crt")),
    certFile: join(dir, "tls.crt"),
    keyFile: join(dir, "tls.key"),
    renew: issue,
  };
}

export interface TlsResponse {
  status: number;
  body: string;
  /** The fingerprint of the certificate the server presented. */
  fingerprint: string;
}

/** One request over HTTPS on a connection of its own, trusting only `ca`. */
export function requestOverTls(
  url: string,
  options: { ca: Buffer; method?: string; body?: string; headers?: Record<string, string> },
): Promise<TlsResponse> {
  return new Promise((done, fail) => {
    const request = httpsRequest(
      url,
      { method: options.method ?? "GET", ca: options.ca, headers: options.headers, agent: false },
      (response) => {
        const fingerprint = (response.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => done({ status: response.statusCode ?? 0, body, fingerprint }));
      },
    );
    request.on("error", fail);
    request.end(options.body);
  });
}
