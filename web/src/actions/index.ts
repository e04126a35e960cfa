/** The dashboard's actions: each opens a dialog that says what will happen, and needs a token. */

export { ActionButton, SignInDialog } from "./action-button";
export { type AlertRef, PERSON_CLOSES, ResolveAlertButton } from "./resolve-alert-button";
export { RetireButton } from "./retire-button";
export { type DeliveryRef, RetryDeliveryButton } from "./retry-delivery-button";
export { ReviewButton } from "./review-button";
export { RollbackButton } from "./rollback-button";
export { SetGoldenButton } from "./set-golden-button";
