import { render } from "preact";
import { useState } from "preact/hooks";
import {
  RetireButton,
  RetryDeliveryButton,
  ReviewButton,
  RollbackButton,
  SetGoldenButton,
} from "../src/actions";
import { applyTheme, theme } from "../src/theme";
import "../src/styles.css";

/**
 * A page that holds the action buttons with the props a test gives in `?props=` (JSON), so the
 * buttons other pages place (the model page's retire, golden and rollback) are driven in a
 * browser against a real server. Built by test/browser/actions.test.ts; never shipped.
 */
interface Props {
  review?: Parameters<typeof ReviewButton>[0]["deployment"];
  retire?: Parameters<typeof RetireButton>[0]["deployment"];
  golden?: { model: string; environment: string; model_version: string };
  rollback?: {
    model: string;
    environment: string;
    currentVersion: string | null;
    goldenVersion: string | null;
  };
  retry?: Parameters<typeof RetryDeliveryButton>[0]["delivery"];
}

function Harness({ props }: { props: Props }) {
  const [done, setDone] = useState<string[]>([]);
  const log = (what: string) => () => setDone((d) => [...d, what]);
  return (
    <main>
      <h1>Actions</h1>
      <p>
        {props.review ? <ReviewButton deployment={props.review} onDone={log("review")} /> : null}{" "}
        {props.retire ? <RetireButton deployment={props.retire} onDone={log("retire")} /> : null}{" "}
        {props.golden ? <SetGoldenButton {...props.golden} onDone={log("golden")} /> : null}{" "}
        {props.rollback ? <RollbackButton {...props.rollback} onDone={log("rollback")} /> : null}{" "}
        {props.retry ? <RetryDeliveryButton delivery={props.retry} onDone={log("retry")} /> : null}
      </p>
      <output id="done">{done.join(",")}</output>
    </main>
  );
}

applyTheme(theme.get());
const root = document.getElementById("app");
const props = JSON.parse(new URLSearchParams(window.location.search).get("props") ?? "{}") as Props;
if (root) render(<Harness props={props} />, root);
