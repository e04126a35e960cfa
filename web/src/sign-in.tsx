import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { signIn, signOut, token } from "./auth";
import { ErrorBox } from "./components";
import { useShared } from "./store";

/**
 * Takes an API token (from `tenure token create`). It is checked with one read before it is kept.
 * Reading may be open (`tenure serve --public-read`); acting always needs a token.
 */
export function SignInForm({ onDone, reason }: { onDone?: () => void; reason?: string }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = value.trim();
    if (!candidate) return setError(new ApiError(400, "Enter a token", "tenure token create prints one"));
    try {
      const response = await fetch("/v1/fleet", { headers: { authorization: `Bearer ${candidate}` } });
      if (response.status === 401)
        throw new ApiError(401, "That token was refused", "it is unknown, revoked or expired");
      signIn(candidate);
      onDone?.();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form class="sign-in" onSubmit={submit}>
      <h2>Sign in</h2>
      {reason ? <p>{reason}</p> : null}
      <label>
        API token
        <input
          ref={input}
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          placeholder="tnr_…"
        />
      </label>
      <p class="hint">
        Create one with <code>tenure token create --name me --scope write</code>. It is kept in this tab only.
      </p>
      <ErrorBox error={error} />
      <button type="submit" class="primary">
        Sign in
      </button>
    </form>
  );
}

/** The header's sign-in state: who can act from this tab. */
export function SignInButton({ onSignIn }: { onSignIn: () => void }) {
  const current = useShared(token);
  return current ? (
    <button type="button" onClick={signOut} title="Forget the token in this tab">
      Sign out
    </button>
  ) : (
    <button type="button" onClick={onSignIn}>
      Sign in
    </button>
  );
}

/** Whether actions can be offered: without a token they only ask to sign in. */
export function useCanAct(): boolean {
  return useShared(token) !== null;
}
