import { signedOut, tokenOf } from "./auth";

/** An RFC 9457 problem the API answered, or a network failure, as the pages show it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: { field: string; message: string }[] = [],
  ) {
    super(detail || title);
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = tokenOf();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(withQuery(path, query), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new ApiError(
      0,
      "The server does not answer",
      error instanceof Error ? error.message : String(error),
    );
  }
  if (response.status === 401) signedOut();
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as {
      title?: string;
      detail?: string;
      errors?: { field: string; message: string }[];
    };
    throw new ApiError(
      response.status,
      problem.title ?? response.statusText,
      problem.detail ?? "",
      problem.errors ?? [],
    );
  }
  return (await response.json()) as T;
}

/** The API as the dashboard calls it: same-origin, with the signed-in token when there is one. */
export const api = {
  get: <T>(path: string, query?: Query) => call<T>("GET", path, undefined, query),
  post: <T>(path: string, body: unknown = {}, query?: Query) => call<T>("POST", path, body, query),
  put: <T>(path: string, body: unknown) => call<T>("PUT", path, body),
};
