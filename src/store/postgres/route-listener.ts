import pg from "pg";

/**
 * LISTENs on a PostgreSQL channel on a connection of its own (a pooled connection cannot hold a
 * LISTEN), and connects again with a growing delay when the connection is lost. Notifications
 * sent while it was away are lost with it: `recovered` tells the caller to read everything again.
 */
export function listenFor(
  url: string,
  channel: string,
  handlers: { notified(payload: string): void; failed(error: unknown): void; recovered(): void },
): { close(): Promise<void> } {
  let client: pg.Client | undefined;
  let closed = false;
  let failing = false;
  let delay = MIN_DELAY_MS;
  let timer: NodeJS.Timeout | undefined;

  const fail = (error: unknown) => {
    const lost = client;
    client = undefined;
    lost?.end().catch(() => {});
    if (closed) return;
    if (!failing) {
      failing = true;
      handlers.failed(error);
    }
    timer = setTimeout(connect, delay);
    timer.unref();
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  };

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url, application_name: "tenure-gateway-routes" });
    client = next;
    next.on("error", (error) => {
      if (client === next) fail(error);
    });
    next.on("end", () => {
      if (client === next) fail(new Error("the connection to PostgreSQL ended"));
    });
    next.on("notification", (message) => {
      if (message.channel === channel) handlers.notified(message.payload ?? "");
    });
    try {
      await next.connect();
      await next.query(`listen ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      if (client === next) fail(error);
      return;
    }
    if (closed) {
      await next.end().catch(() => {});
      return;
    }
    delay = MIN_DELAY_MS;
    if (failing) {
      failing = false;
      handlers.recovered();
    }
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const last = client;
      client = undefined;
      await last?.end().catch(() => {});
    },
  };
}

const MIN_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;
