import { useState } from "preact/hooks";
import { api } from "../api";
import { Confirm, ErrorBox, useData } from "../components";
import { shortTime } from "../format";
import { ActionButton, explainRefusal, invalid } from "./action-button";

interface ModelVersions {
  versions: { model_version: string; training_data_cutoff: string }[];
}

/**
 * Rolls an environment back (POST /v1/models/{name}/rollback): to the golden version by default,
 * or to a version chosen in the dialog. The live primary ends as `rolled_back` (its open alerts
 * resolve) and the target serves again as a new deployment, with the training data cutoff it was
 * registered with, so its deployment age starts at zero and its data age does not.
 */
export function RollbackButton({
  model,
  environment,
  currentVersion,
  goldenVersion,
  onDone,
  compact,
}: {
  model: string;
  environment: string;
  currentVersion: string | null;
  goldenVersion: string | null;
  onDone?: () => void;
  compact?: boolean;
}) {
  return (
    <ActionButton
      label="Roll back…"
      verb="roll back"
      danger
      compact={compact}
      dialog={(close) => (
        <RollbackDialog
          model={model}
          environment={environment}
          currentVersion={currentVersion}
          goldenVersion={goldenVersion}
          onClose={close}
          onDone={onDone}
        />
      )}
    />
  );
}

function RollbackDialog({
  model,
  environment,
  currentVersion,
  goldenVersion,
  onClose,
  onDone,
}: {
  model: string;
  environment: string;
  currentVersion: string | null;
  goldenVersion: string | null;
  onClose: () => void;
  onDone?: () => void;
}) {
  const versions = useData(
    () => api.get<ModelVersions>(`/v1/models/${encodeURIComponent(model)}`).then((m) => m.versions),
    [model],
  );
  const [target, setTarget] = useState<string>(goldenVersion ?? "");
  const [reason, setReason] = useState("");
  const isGolden = target !== "" && target === goldenVersion;
  const submit = async () => {
    if (!target)
      throw invalid("Choose a version", `${model} has no golden version in ${environment} to roll back to.`);
    if (target === currentVersion)
      throw invalid("Choose another version", `${target} is already the live primary.`);
    try {
      await api.post(`/v1/models/${encodeURIComponent(model)}/rollback`, {
        environment,
        ...(isGolden ? {} : { to_version: target }),
        ...(reason.trim() ? { reason: reason.trim() } : {}),
      });
    } catch (error) {
      throw explainRefusal(error);
    }
    onDone?.();
  };
  const cutoff = versions.data?.find((v) => v.model_version === target)?.training_data_cutoff;
  return (
    <Confirm
      title={`Roll back ${model} in ${environment}`}
      action="Roll back"
      danger
      onConfirm={submit}
      onClose={onClose}
    >
      <div class="action-form">
        <label>
          Roll back to
          <select value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
            {goldenVersion ? null : <option value="">Choose a version…</option>}
            {(versions.data ?? (goldenVersion ? [{ model_version: goldenVersion }] : [])).map((v) => (
              <option
                key={v.model_version}
                value={v.model_version}
                disabled={v.model_version === currentVersion}
              >
                {v.model_version}
                {v.model_version === goldenVersion ? " (golden)" : ""}
                {v.model_version === currentVersion ? " (live now)" : ""}
              </option>
            ))}
          </select>
        </label>
        <label class="wide">
          Reason (optional)
          <input
            type="text"
            maxLength={2000}
            value={reason}
            placeholder="AUC fell below target after the last release"
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <ErrorBox error={versions.error} />
      {target ? (
        <div class="consequences">
          <p class="consequence">
            {currentVersion ? (
              <>
                Roll back {environment} from {currentVersion} to {isGolden ? "the golden " : ""}
                {target}: {currentVersion} becomes <strong>rolled_back</strong>.
              </>
            ) : (
              <>
                Roll back {environment} to {isGolden ? "the golden " : ""}
                {target}: it becomes the live primary of {model} (none is live now).
              </>
            )}
          </p>
          <ul class="consequence-details">
            <li>
              {target} serves again as a new deployment: its deployment age starts at 0
              {cutoff ? `, its data is as old as before (trained on data up to ${shortTime(cutoff)})` : ""}.
            </li>
            {currentVersion ? <li>The open alerts of {currentVersion} resolve as rolled back.</li> : null}
            {target === currentVersion ? (
              <li class="warn">{target} is already live: choose another version.</li>
            ) : null}
          </ul>
        </div>
      ) : (
        <p class="consequence warn">
          {model} has no golden version in {environment}: choose the version to roll back to.
        </p>
      )}
    </Confirm>
  );
}
