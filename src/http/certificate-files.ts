import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { InputError } from "../core/errors.js";

export interface KeyPair {
  key: Buffer;
  cert: Buffer;
}

/**
 * The server's TLS key and certificate, PEM files on disk, read again when they change: in
 * Kubernetes cert-manager renews the certificate in its Secret, and the kubelet swaps the mounted
 * files in place, so a server that read them once would serve an expired certificate.
 */
export class CertificateFiles {
  private current: KeyPair | undefined;

  constructor(
    readonly certFile: string,
    readonly keyFile: string,
  ) {}

  /** Reads both files; an InputError names the unreadable file or says why the pair is unusable. */
  read(): KeyPair {
    const pair = { cert: readPem(this.certFile, "certificate"), key: readPem(this.keyFile, "key") };
    try {
      createSecureContext(pair);
    } catch (error) {
      throw new InputError(
        `the TLS key ${this.keyFile} and certificate ${this.certFile} cannot be used together: ${(error as Error).message}`,
      );
    }
    this.current = pair;
    return pair;
  }

  /**
   * Reads the files every `intervalMs` until `signal` aborts, and calls `onChange` with a pair
   * that differs from the last one read. A pair that cannot be read or used (the kubelet
   * caught mid-swap, a key that does not match) is reported and the one in use is kept.
   */
  watch(options: {
    intervalMs: number;
    signal: AbortSignal;
    onChange: (pair: KeyPair) => void;
    onError: (error: unknown) => void;
  }): void {
    const timer = setInterval(() => {
      const before = this.current;
      try {
        const pair = this.read();
        if (!before || !pair.cert.equals(before.cert) || !pair.key.equals(before.key)) options.onChange(pair);
      } catch (error) {
        options.onError(error);
      }
    }, options.intervalMs);
    // The server's own close ends the process; a pending read must not hold it open.
    timer.unref();
    options.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  }
}

function readPem(path: string, what: "certificate" | "key"): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : `cannot be read (${code})`;
    throw new InputError(`the TLS ${what} ${path} ${why}`);
  }
}
