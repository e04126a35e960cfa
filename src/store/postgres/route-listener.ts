import pg from "pg";
import { answeredWithin, destroyConnection, endWithin } from "./bounded-end.js";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "./postgres-pool.js";

export interface ListenOptions {
  /**
   * Ms to connect, log in and LISTEN, and for each liveness check to be answered; the listener
   * checks every twice that. 5 s when absent, as the pool's connect timeout.
   */
  connectTimeoutMs?: number;
}

/**
 * LISTENs on a PostgreSQL channel on a connection of its own (a pooled connection cannot hold a
 * LISTEN), and connects again with a growing delay when the connection is lost. Notifications
 * sent while it was away are lost with it: `recovered` tells the caller to read everything again.
 *
 * A connection that merely goes silent (a partition that drops packets, a hung host, a NAT or
 * firewall that forgot the flow) raises no error and never ends: a LISTEN waits for it forever.
 * So connecting is bound by the connect timeout, and while listening the connection is asked
 * `select 1` every two connect timeouts and must answer within one; one that does not is cut and
 * replaced. TCP keepalive is on too, for a peer whose host is gone, which the kernel can tell.
 */
export function listenFor(
  url: string,
  channel: string,
  handlers: { notified(payload: string): void; failed(error: unknown): void; recovered(): void },
  options: ListenOptions = {},
): { close(): Promise<void> } {
  const timeoutMs =
    options.connectTimeoutMs !== undefined && options.connectTimeoutMs > 0
      ? options.connectTimeoutMs
      : DEFAULT_CONNECT_TIMEOUT_MS;
  let client: pg.Client | undefined;
  let closed = false;
  let failing = false;
  let delay = MIN_DELAY_MS;
  let timer: NodeJS.Timeout | undefined;
  let checkTimer: NodeJS.Timeout | undefined;

  const fail = (error: unknown) => {
    const lost = client;
    client = undefined;
    if (checkTimer) clearTimeout(checkTimer);
    // No goodbye: across a silent network it would never be answered, and the socket would stay.
    if (lost) destroyConnection(lost);
    if (closed) return;
    if (!failing) {
      failing = true;
      handlers.failed(error);
    }
    timer = setTimeout(connect, delay);
    timer.unref();
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  };

  const check = (listening: pg.Client) => {
    checkTimer = setTimeout(() => {
      if (client !== listening) return;
      answeredWithin(
        listening.query("select 1"),
        timeoutMs,
        `PostgreSQL did not answer the route listener's check within ${timeoutMs} ms`,
      ).then(
        () => {
          if (client === listening) check(listening);
        },
        (error: unknown) => {
          if (client === listening) fail(error);
        },
      );
    }, 2 * timeoutMs);
    checkTimer.unref();
  };

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({
      connectionString: url,
      application_name: "tenure-gateway-routes",
      connectionTimeoutMillis: timeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    });
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
      // pg's connect timeout covers the connection and the login; the LISTEN needs a bound too.
      await answeredWithin(
        next.connect().then(() => next.query(`listen ${pg.escapeIdentifier(channel)}`)),
        timeoutMs * 2,
        `PostgreSQL did not let the route listener connect and LISTEN within ${timeoutMs * 2} ms`,
      );
    } catch (error) {
      if (client === next) fail(error);
      return;
    }
    if (closed || client !== next) {
      destroyConnection(next);
      return;
    }
    delay = MIN_DELAY_MS;
    check(next);
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
      if (checkTimer) clearTimeout(checkTimer);
      const last = client;
      client = undefined;
      if (last) await endWithin(last);
    },
  };
}

const MIN_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;
/** Idle time before the kernel's first keepalive probe (Linux's default is two hours). */
const KEEPALIVE_IDLE_MS = 10_000;
