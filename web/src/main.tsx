import { render } from "preact";
import { App } from "./app";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { applyTheme, theme } from "./theme";

applyTheme(theme.get());
const root = document.getElementById("app");
if (root) render(<App />, root);
