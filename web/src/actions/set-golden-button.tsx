import { api } from "../api";
import { Confirm, ErrorBox, Loading, useData } from "../components";
import { ActionButton, explainRefusal } from "./action-button";

interface ModelGolden {
  environments: { environment: string; golden_version: string | null }[];
}

/**
 * Makes a version the golden version of its model in an environment (PUT
 * /v1/models/{name}/golden): the default target of a rollback there. Nothing serves differently.
 */
export function SetGoldenButton({
  model,
  environment,
  model_version,
  onDone,
  compact,
}: {
  model: string;
  environment: string;
  model_version: string;
  onDone?: () => void;
  compact?: boolean;
}) {
  return (
    <ActionButton
      label="Set golden…"
      verb="set the golden version"
      compact={compact}
      dialog={(close) => (
        <SetGoldenDialog
          model={model}
          environment={environment}
          model_version={model_version}
          onClose={close}
          onDone={onDone}
        />
      )}
    />
  );
}

function SetGoldenDialog({
  model,
  environment,
  model_version,
  onClose,
  onDone,
}: {
  model: string;
  environment: string;
  model_version: string;
  onClose: () => void;
  onDone?: () => void;
}) {
  const current = useData(async () => {
    const found = await api.get<ModelGolden>(`/v1/models/${encodeURIComponent(model)}`);
    return found.environments.find((e) => e.environment === environment)?.golden_version ?? null;
  }, [model, environment]);
  const submit = async () => {
    try {
      await api.put(`/v1/models/${encodeURIComponent(model)}/golden`, { model_version, environment });
    } catch (error) {
      throw explainRefusal(error);
    }
    onDone?.();
  };
  const before = current.data;
  return (
    <Confirm
      title={`Set the golden version of ${model}`}
      action="Set golden"
      onConfirm={submit}
      onClose={onClose}
    >
      <ErrorBox error={current.error} />
      {current.loading && before === undefined ? <Loading what="the golden version" /> : null}
      <div class="consequences">
        <p class="consequence">
          Make {model_version} the golden version of {model} in {environment}
          {before === undefined
            ? ""
            : before === null
              ? " (it has none yet)"
              : before === model_version
                ? ` (it already is: this records it again)`
                : `, in place of ${before}`}
          .
        </p>
        <ul class="consequence-details">
          <li>
            A rollback of {model} in {environment} goes to {model_version} unless another version is named.
          </li>
          <li>Nothing serves differently now; the change is recorded in the model's events.</li>
        </ul>
      </div>
    </Confirm>
  );
}
