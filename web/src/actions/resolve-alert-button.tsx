import { useState } from "preact/hooks";
import { api } from "../api";
import { Confirm } from "../components";
import { ActionButton, explainRefusal, invalid } from "./action-button";

export interface AlertRef {
  id: number;
  kind: string;
  model: string;
  model_version: string;
  environment: string;
}

/**
 * The alerts no sweep closes, because something was done rather than measured: a canary rolled
 * back or paused, a guardrail's rollback (src/core/finding.ts, ACTION_KINDS). A person closes
 * them once dealt with; every other kind closes when its condition ends, or with a review.
 */
export const PERSON_CLOSES: ReadonlySet<string> = new Set(["canary_failed", "canary_paused", "guardrail"]);

/**
 * Resolves such an alert as acknowledged (POST /v1/alerts/{id}/resolve with a required note):
 * the note is recorded as an `alert_resolved` event and the alert's channels are told.
 */
export function ResolveAlertButton({
  alert,
  onDone,
  compact,
}: {
  alert: AlertRef;
  onDone?: () => void;
  compact?: boolean;
}) {
  return (
    <ActionButton
      label="Resolve…"
      verb="resolve"
      compact={compact}
      dialog={(close) => <ResolveDialog alert={alert} onClose={close} onDone={onDone} />}
    />
  );
}

function ResolveDialog({
  alert,
  onClose,
  onDone,
}: {
  alert: AlertRef;
  onClose: () => void;
  onDone?: () => void;
}) {
  const [note, setNote] = useState("");
  const submit = async () => {
    if (!note.trim())
      throw invalid("Resolving needs a note", "Say what was done about it: the note is kept.");
    try {
      await api.post(`/v1/alerts/${alert.id}/resolve`, { note: note.trim() });
    } catch (error) {
      throw explainRefusal(error);
    }
    onDone?.();
  };
  const name = `${alert.model} ${alert.model_version} in ${alert.environment}`;
  return (
    <Confirm
      title={`Resolve the '${alert.kind}' alert`}
      action="Resolve it"
      onConfirm={submit}
      onClose={onClose}
    >
      <div class="action-form">
        <label class="wide">
          Note (required): what was done about it?
          <textarea
            rows={3}
            maxLength={2000}
            aria-required="true"
            value={note}
            placeholder="Canary logs checked: a bad feature join, fixed in 13.2"
            onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
          />
        </label>
      </div>
      <div class="consequences">
        <p class="consequence">
          Resolve the alert '{alert.kind}' of {name} as acknowledged: it closes now.
        </p>
        <ul class="consequence-details">
          <li>The note is recorded in the deployment's events with your token's name and the time.</li>
          <li>The channels this alert went to are told it resolved.</li>
          <li>Nothing changes in what serves: the alert only records what was already done.</li>
        </ul>
      </div>
    </Confirm>
  );
}
