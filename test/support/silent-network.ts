import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a server (PostgreSQL, here) that a test can make go silent, as a
 * network partition or a hung host does: `silence()` drops every byte both ways on the
 * connections open at that moment, and new connections are accepted and then never answered.
 * Nothing is refused or closed, so the client sees neither an error nor an end, only silence.
 * `restore()` forwards new connections again; those that met the silence stay silent (their
 * streams lost bytes, and a client must drop them). `close()` destroys every socket.
 */
export interface SilentNetwork {
  port: number;
  /** Connections accepted so far, silent or not. */
  readonly accepted: number;
  silence(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startSilentNetwork(target: { host: string; port: number }): Promise<SilentNetwork> {
  let silent = false;
  let accepted = 0;
  const pairs = new Set<{ client: Socket; upstream?: Socket; dropped: boolean }>();
  // Half-open allowed: otherwise Node answers a client's FIN with its own by itself, and a
  // client's goodbye on a silent connection would be answered, which silence never does.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const pair: { client: Socket; upstream?: Socket; dropped: boolean } = { client, dropped: silent };
    pairs.add(pair);
    client.on("error", () => {});
    client.on("close", () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (pair.dropped) return;
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on("error", () => client.destroy());
    // Forwarded by hand rather than piped, so that silence can fall between two chunks.
    client.on("data", (chunk) => {
      if (!pair.dropped) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!pair.dropped) client.write(chunk);
    });
    // A closed end is news the silence would not carry either.
    client.on("end", () => {
      if (!pair.dropped) upstream.end();
    });
    upstream.on("close", () => {
      if (!pair.dropped) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted;
    },
    silence() {
      silent = true;
      for (const pair of pairs) pair.dropped = true;
    },
    restore() {
      silent = false;
    },
    close: () => closeAll(server, pairs),
  };
}

/**
 * A black hole: a TCP server that accepts every connection and never sends a byte, as a
 * PostgreSQL host that hangs after its kernel took the connection.
 */
export async function startBlackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<{ client: Socket }>();
  const server = createServer((client) => {
    const entry = { client };
    sockets.add(entry);
    client.on("error", () => {});
    client.on("close", () => sockets.delete(entry));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => closeAll(server, sockets) };
}

function closeAll(server: Server, pairs: Set<{ client: Socket; upstream?: Socket }>): Promise<void> {
  for (const pair of pairs) {
    pair.client.destroy();
    pair.upstream?.destroy();
  }
  return new Promise((resolve) => server.close(() => resolve()));
}
