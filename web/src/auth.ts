import { shared } from "./store";

/**
 * The bearer token the dashboard acts with. It is kept in this browser's sessionStorage only
 * (gone when the tab closes), never in the URL, so a shared link never carries it.
 */
const KEY = "tenure.token";

function stored(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export const token = shared<string | null>(stored());
/** Set when the server refused a read without a token: the app shows the sign-in form. */
export const needsSignIn = shared(false);

export function tokenOf(): string | null {
  return token.get();
}

export function signIn(value: string): void {
  try {
    sessionStorage.setItem(KEY, value);
  } catch {
    // A browser that refuses storage keeps the token for this page only.
  }
  token.set(value);
  needsSignIn.set(false);
}

export function signOut(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing was stored.
  }
  token.set(null);
}

/** The server answered 401: the token is missing, wrong or revoked. */
export function signedOut(): void {
  if (token.get()) signOut();
  needsSignIn.set(true);
}
