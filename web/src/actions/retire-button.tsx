import { useState } from "preact/hooks";
import { api } from "../api";
import { Confirm, ErrorBox, Loading, useData } from "../components";
import { ActionButton, explainRefusal } from "./action-button";
import { type DeploymentRef, type DeploymentState, kindList, openAlertsOf, plural } from "./action-context";

/**
 * Retires a deployment (POST /v1/deployments/{id}/retire, optional reason). A live deployment
 * ends as `retired` and its open alerts resolve; a scheduled one has its promotion cancelled.
 * Nothing takes over: the dialog says so when it is the primary.
 */
export function RetireButton({
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
      label="Retire…"
      verb="retire"
      danger
      compact={compact}
      dialog={(close) => <RetireDialog deployment={deployment} onClose={close} onDone={onDone} />}
    />
  );
}

function RetireDialog({
  deployment,
  onClose,
  onDone,
}: {
  deployment: DeploymentRef;
  onClose: () => void;
  onDone?: () => void;
}) {
  const [reason, setReason] = useState("");
  const context = useData(async () => {
    const [current, alerts] = await Promise.all([
      api.get<DeploymentState>(`/v1/deployments/${deployment.id}`),
      openAlertsOf(deployment.id),
    ]);
    return { current, alerts };
  }, [deployment.id]);
  const submit = async () => {
    try {
      await api.post(
        `/v1/deployments/${deployment.id}/retire`,
        reason.trim() ? { reason: reason.trim() } : {},
      );
    } catch (error) {
      throw explainRefusal(error);
    }
    onDone?.();
  };
  const name = `${deployment.model} ${deployment.model_version}`;
  const data = context.data;
  const kinds = data ? [...new Set(data.alerts.map((a) => a.kind))] : [];
  return (
    <Confirm
      title={`Retire ${name} in ${deployment.environment}`}
      action={data?.current.status === "scheduled" ? "Cancel the promotion" : "Retire it"}
      danger
      onConfirm={submit}
      onClose={onClose}
    >
      <div class="action-form">
        <label class="wide">
          Reason (optional)
          <input
            type="text"
            maxLength={2000}
            value={reason}
            placeholder="replaced by the new ranking service"
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <ErrorBox error={context.error} />
      {!data ? (
        context.loading ? (
          <Loading what="what retiring will change" />
        ) : null
      ) : data.current.status === "scheduled" ? (
        <p class="consequence">
          Retire {name} in {deployment.environment}: its scheduled promotion is cancelled; it becomes{" "}
          <strong>retired</strong> without ever serving.
        </p>
      ) : data.current.status !== "active" ? (
        <p class="consequence warn">
          {name} is already <strong>{data.current.status.replaceAll("_", " ")}</strong>: the server will
          refuse.
        </p>
      ) : (
        <div class="consequences">
          <p class="consequence">
            Retire {name} in {deployment.environment}: it ends now and becomes <strong>retired</strong>
            {kinds.length > 0
              ? `; its open ${plural(kinds.length, "alert", "alerts")} ${kindList(kinds)} ${plural(kinds.length, "resolves", "resolve")}`
              : ""}
            .
          </p>
          <ul class="consequence-details">
            {data.current.role === "primary" ? (
              <li class="warn">
                It is the primary: nothing takes its place. {deployment.model} has no live primary in{" "}
                {deployment.environment} until one is deployed or rolled back to.
              </li>
            ) : (
              <li>It is a {data.current.role}: the primary keeps serving.</li>
            )}
            <li>It cannot be undone; the retirement is recorded in its events with your token's name.</li>
          </ul>
        </div>
      )}
    </Confirm>
  );
}
