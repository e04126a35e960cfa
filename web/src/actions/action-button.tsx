import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { SignInForm, useCanAct } from "../sign-in";
import "./actions.css";

/**
 * The button every action shares. With a token it opens the action's dialog; without one it says
 * "Sign in to …" and opens the sign-in first, then the dialog, so the reader who asked to act
 * lands where they meant to go. Focus comes back to the button when a dialog closes.
 */
export function ActionButton({
  label,
  verb,
  dialog,
  danger = false,
  compact = false,
  title,
}: {
  /** The button's text when the reader can act: "Review…". */
  label: string;
  /** What the sign-in button offers: "review" → "Sign in to review". */
  verb: string;
  dialog: (close: () => void) => ComponentChildren;
  danger?: boolean;
  compact?: boolean;
  title?: string;
}) {
  const canAct = useCanAct();
  const [open, setOpen] = useState<"sign-in" | "action" | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const close = () => {
    setOpen(null);
    button.current?.focus();
  };
  const classes = ["action", danger ? "action-danger" : "", compact ? "action-compact" : ""].join(" ").trim();
  return (
    <>
      <button
        ref={button}
        type="button"
        class={canAct ? classes : `${classes} action-locked`}
        title={canAct ? title : `Acting needs a token: sign in to ${verb}`}
        onClick={() => setOpen(canAct ? "action" : "sign-in")}
      >
        {canAct ? label : `Sign in to ${verb}`}
      </button>
      {open === "sign-in" ? (
        <SignInDialog
          reason={`To ${verb}, sign in with an API token.`}
          onClose={close}
          onDone={() => setOpen("action")}
        />
      ) : null}
      {open === "action" && canAct ? dialog(close) : null}
    </>
  );
}

/** The frame's sign-in form in a modal, for a reader who asked to act from a page. */
export function SignInDialog({
  reason,
  onClose,
  onDone,
}: {
  reason: string;
  onClose: () => void;
  onDone: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog ref={dialog} class="confirm sign-in-dialog" onClose={onClose} aria-label="Sign in">
      <SignInForm reason={reason} onDone={onDone} />
      <button type="button" class="dialog-dismiss" onClick={onClose} aria-label="Close">
        ×
      </button>
    </dialog>
  );
}

/**
 * A refusal as a person should read it: a 403 says the token may not do this (scope or team,
 * in the API's own words), a 409 that the deployment moved on since the page was drawn.
 */
export function explainRefusal(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.status === 403)
    return new ApiError(403, "This token may not do that", error.detail, error.errors);
  if (error.status === 409)
    return new ApiError(409, "Nothing was changed", `${error.detail}. Reload to see where it stands now.`);
  return error;
}

/** A form check that fails before anything is sent, shown as the API's refusals are. */
export function invalid(title: string, detail: string): ApiError {
  return new ApiError(400, title, detail);
}

/** A quoted word in a confirm sentence: the kind of an alert, a status. */
export function Term({ children }: { children: ComponentChildren }) {
  return <strong class="term">{children}</strong>;
}
