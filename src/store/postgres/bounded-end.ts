import type pg from "pg";

/**
 * How long a stop waits for PostgreSQL connections to say goodbye before it cuts them. A
 * connection's end sends PostgreSQL a Terminate message and waits for the server to close its
 * side; across a silent network (a partition, a hung host) that close never comes, and the open
 * socket would hold the process until the operating system gives up on TCP, for minutes.
 */
export const END_GRACE_MS = 2_000;

/** Closes a client's socket at once, without a goodbye: for a connection known to be dead or silent. */
export function destroyConnection(client: pg.Client): void {
  client.connection.stream.destroy();
}

/** Resolves once `work` settles or `ms` have passed, whichever is first; never rejects. */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work.then(noop, noop), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends a client politely, and cuts its socket if the goodbye is not over within `graceMs`. */
export async function endWithin(client: pg.Client, graceMs = END_GRACE_MS): Promise<void> {
  await settledWithin(client.end(), graceMs);
  destroyConnection(client);
}

/**
 * Rejects with `message` unless `work` settles within `ms`. A silent server answers nothing, not
 * even an error; the caller drops the connection the work was waiting on.
 */
export function answeredWithin<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function noop(): void {}
