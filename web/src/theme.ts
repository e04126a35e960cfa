import { shared } from "./store";

export type Theme = "light" | "dark";

const KEY = "tenure.theme";

/** The theme: `?theme=` in the URL (for screenshots and shared links), else the last choice, else the system's. */
function initial(): Theme {
  const fromUrl = new URLSearchParams(window.location.search).get("theme");
  if (fromUrl === "light" || fromUrl === "dark") return fromUrl;
  try {
    const saved = localStorage.getItem(KEY);
    if (saved === "light" || saved === "dark") return saved;
  } catch {
    // No storage: follow the system.
  }
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const theme = shared<Theme>(initial());

export function applyTheme(value: Theme): void {
  document.documentElement.dataset.theme = value;
}

export function toggleTheme(): void {
  const next: Theme = theme.get() === "dark" ? "light" : "dark";
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // The choice lasts for this page only.
  }
  theme.set(next);
  applyTheme(next);
}
