import { api } from "../api";
import { Confirm } from "../components";
import { ActionButton, explainRefusal } from "./action-button";

export interface DeliveryRef {
  id: number;
  alert_id: number;
  channel: string;
  action: string;
  state: string;
  attempts: number;
}

/**
 * Queues a dead-lettered delivery again (POST /v1/deliveries/retry with `{ids: [id]}`): its
 * attempts start over and the server sends it now. The route needs an admin token that is not
 * bound to a team; only `failed` deliveries are retried.
 */
export function RetryDeliveryButton({
  delivery,
  onDone,
  compact,
}: {
  delivery: DeliveryRef;
  onDone?: (retried: number) => void;
  compact?: boolean;
}) {
  return (
    <ActionButton
      label="Retry…"
      verb="retry"
      compact={compact}
      title={`Send delivery ${delivery.id} again`}
      dialog={(close) => (
        <Confirm
          title={`Retry delivery ${delivery.id}`}
          action="Send it again"
          onClose={close}
          onConfirm={async () => {
            let result: { retried: number };
            try {
              result = await api.post<{ retried: number }>("/v1/deliveries/retry", { ids: [delivery.id] });
            } catch (error) {
              throw explainRefusal(error);
            }
            onDone?.(result.retried);
          }}
        >
          <div class="consequences">
            <p class="consequence">
              Send the '{delivery.action}' notice of alert {delivery.alert_id} to {delivery.channel} again:
              delivery {delivery.id} goes back to <strong>pending</strong> with its attempts reset from{" "}
              {delivery.attempts} to 0, and the server sends it now.
            </p>
            <ul class="consequence-details">
              <li>
                If the channel still refuses, it is retried with backoff and dead-lettered again after its
                last attempt.
              </li>
              <li>Retrying needs an admin token that is not bound to a team.</li>
              {delivery.state !== "failed" ? (
                <li class="warn">
                  It is {delivery.state}, not failed: the server retries only failed deliveries.
                </li>
              ) : null}
            </ul>
          </div>
        </Confirm>
      )}
    />
  );
}
