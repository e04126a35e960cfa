import { useState } from "preact/hooks";
import { parseDuration } from "../../../src/core/duration";
import { api } from "../api";
import { Confirm, ErrorBox, Loading, useData } from "../components";
import { formatDuration, relativeTime, shortTime } from "../format";
import { ActionButton, explainRefusal, invalid } from "./action-button";
import {
  AGE_KINDS,
  type DeploymentRef,
  kindList,
  loadReviewContext,
  plural,
  type ReviewContext,
} from "./action-context";

const EXTENSIONS = ["30d", "60d", "90d"];

/**
 * Reviews a deployment: a note (required) and an optional TTL extension, posted to
 * /v1/deployments/{id}/review. The dialog says which open alerts the review resolves (the age
 * alerts, `due` and `expired`; the others stay open), the TTL before and after, and whether the
 * deployment is still past its review point afterwards, so the next sweep raises it again.
 */
export function ReviewButton({
  deployment,
  onDone,
  compact,
}: {
  deployment: DeploymentRef;
  onDone?: () => void;
  compact?: boolean;
}) {
  return (
    <ActionButton
      label="Review…"
      verb="review"
      compact={compact}
      title={`Review ${deployment.model} ${deployment.model_version} in ${deployment.environment}`}
      dialog={(close) => <ReviewDialog deployment={deployment} onClose={close} onDone={onDone} />}
    />
  );
}

function ReviewDialog({
  deployment,
  onClose,
  onDone,
}: {
  deployment: DeploymentRef;
  onClose: () => void;
  onDone?: () => void;
}) {
  const context = useData(() => loadReviewContext(deployment.id), [deployment.id]);
  const [note, setNote] = useState("");
  const [extension, setExtension] = useState("");
  const extendSeconds = extension.trim() ? parseDuration(extension) : 0;
  const submit = async () => {
    if (!note.trim())
      throw invalid("The review needs a note", "Say what you checked: the note is kept with the review.");
    if (extendSeconds === undefined)
      throw invalid("The extension is not a duration", "Write it as 30d, 36h or 2w, or leave it empty.");
    try {
      await api.post(`/v1/deployments/${deployment.id}/review`, {
        note: note.trim(),
        ...(extendSeconds > 0 ? { extend_seconds: extendSeconds } : {}),
      });
    } catch (error) {
      throw explainRefusal(error);
    }
    onDone?.();
  };
  const name = `${deployment.model} ${deployment.model_version}`;
  return (
    <Confirm
      title={`Review ${name} in ${deployment.environment}`}
      action="Record the review"
      onConfirm={submit}
      onClose={onClose}
    >
      <div class="action-form">
        <label class="wide">
          Note (required): what did you check?
          <textarea
            rows={3}
            maxLength={2000}
            aria-required="true"
            value={note}
            placeholder="AUC still 0.91 on last week's labels; retraining planned for Q1"
            onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        <div class="extension">
          <label for={`review-extension-${deployment.id}`}>Extend the TTL by (optional)</label>
          <div class="extension-row">
            <input
              id={`review-extension-${deployment.id}`}
              type="text"
              spellcheck={false}
              autocomplete="off"
              value={extension}
              placeholder="e.g. 30d"
              aria-invalid={extendSeconds === undefined}
              onInput={(e) => setExtension((e.target as HTMLInputElement).value)}
            />
            <fieldset class="chips">
              <legend class="visually-hidden">Common extensions</legend>
              {EXTENSIONS.map((value) => (
                <button
                  key={value}
                  type="button"
                  class={extension === value ? "chip chip-on" : "chip"}
                  aria-pressed={extension === value}
                  onClick={() => setExtension(extension === value ? "" : value)}
                >
                  +{value}
                </button>
              ))}
            </fieldset>
          </div>
        </div>
        {extendSeconds === undefined ? (
          <p class="field-error">Write the extension as a duration: 30d, 36h, 2w (units s m h d w).</p>
        ) : null}
      </div>
      <ErrorBox error={context.error} />
      {context.data ? (
        <ReviewOutcome context={context.data} name={name} extendSeconds={extendSeconds ?? 0} />
      ) : context.loading ? (
        <Loading what="what the review will change" />
      ) : null}
    </Confirm>
  );
}

/** The sentence the reviewer confirms, computed from the deployment as the API describes it now. */
function ReviewOutcome({
  context,
  name,
  extendSeconds,
}: {
  context: ReviewContext;
  name: string;
  extendSeconds: number;
}) {
  const { deployment, policy, alerts } = context;
  if (deployment.status !== "active") {
    return (
      <p class="consequence warn">
        {name} is <strong>{deployment.status.replaceAll("_", " ")}</strong>, not live: the server will refuse
        the review.
      </p>
    );
  }
  const resolving = [...new Set(alerts.filter((a) => AGE_KINDS.has(a.kind)).map((a) => a.kind))];
  const staying = [...new Set(alerts.filter((a) => !AGE_KINDS.has(a.kind)).map((a) => a.kind))];
  const ttl = deployment.age.ttl_seconds;
  const newTtl = ttl + extendSeconds;
  const age = deployment.age.deployment_age_seconds;
  const start = Date.parse(deployment.deployment_date);
  const dueAt = new Date(start + policy.review_at * newTtl * 1000).toISOString();
  const expiresAt = new Date(start + newTtl * 1000).toISOString();
  const stillPast = policy.exempt
    ? null
    : age >= newTtl
      ? "expired"
      : age >= policy.review_at * newTtl
        ? "due"
        : null;
  const alertsPart =
    resolving.length > 0
      ? `the ${plural(resolving.length, "alert", "alerts")} ${kindList(resolving)} ${plural(resolving.length, "resolves", "resolve")}`
      : "no age alert is open, so none resolves";
  const ttlPart =
    extendSeconds > 0
      ? `its TTL is extended by ${formatDuration(extendSeconds)}, to ${formatDuration(newTtl)}`
      : `its TTL stays ${formatDuration(ttl)}`;
  return (
    <div class="consequences" aria-live="polite">
      <p class="consequence">
        Review {name} in {deployment.environment}: {alertsPart}; {ttlPart}.
      </p>
      <ul class="consequence-details">
        <li>
          Deployed {formatDuration(age)} ago: due for review{" "}
          <time dateTime={dueAt} title={shortTime(dueAt)}>
            {relativeTime(dueAt)}
          </time>
          , expires{" "}
          <time dateTime={expiresAt} title={shortTime(expiresAt)}>
            {relativeTime(expiresAt)}
          </time>{" "}
          ({shortTime(expiresAt)}).
        </li>
        {staying.length > 0 ? (
          <li>
            The {plural(staying.length, "alert", "alerts")} {kindList(staying)}{" "}
            {plural(staying.length, "stays", "stay")} open: a review acknowledges age, not what{" "}
            {plural(staying.length, "that alert measures", "those alerts measure")}.
          </li>
        ) : null}
        {stillPast ? (
          <li class="warn">
            It is still {stillPast === "expired" ? "past its TTL" : "past its review point"} after this
            review: the next sweep opens a new '{stillPast}' alert. Extend by more to quiet it.
          </li>
        ) : null}
        <li>The review is recorded in its events with your token's name, the note and the time.</li>
      </ul>
    </div>
  );
}
