import http from "node:http";

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Bytes of body received (with `discard`, the body itself is not kept). */
  bytes: number;
  /** False when the connection ended before the whole answer arrived. */
  complete: boolean;
}

/** One request on a connection of its own (no pool: sockets a test counts are the gateway's). */
export function send(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    bodyStream?: AsyncIterable<Buffer>;
    /** Count the answer's bytes without keeping them. */
    discard?: boolean;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (!options.discard) chunks.push(chunk);
        });
        const finish = () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            bytes,
            complete: res.complete,
          });
        res.on("end", finish);
        res.on("error", finish);
        res.on("aborted", () => {});
      },
    );
    req.on("error", reject);
    if (options.bodyStream) {
      (async () => {
        for await (const chunk of options.bodyStream as AsyncIterable<Buffer>) {
          if (!req.write(chunk)) await new Promise((next) => req.once("drain", next));
        }
        req.end();
      })().catch(reject);
    } else req.end(options.body);
  });
}

/** `count` chunks of `size` bytes, made as they are sent: a body never held whole in memory. */
export async function* chunks(count: number, size: number): AsyncIterable<Buffer> {
  const chunk = Buffer.alloc(size, 3);
  for (let i = 0; i < count; i++) yield chunk;
}

/** The number of TCP sockets and servers this process holds open. */
export function openSockets(): number {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name === "TCPSocketWrap" || name === "TCPServerWrap").length;
}
