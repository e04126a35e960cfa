/**
 * A terminal's screen as an HTML page, from text with ANSI SGR codes (the few the CLI writes:
 * bold, dim, the eight colours and their bright forms, resets), to render into a PNG capture.
 * Colours are those of a common dark terminal theme.
 */
const COLORS: Record<number, string> = {
  30: "#3b4048",
  31: "#ef596f",
  32: "#89ca78",
  33: "#e5c07b",
  34: "#61afef",
  35: "#d55fde",
  36: "#2bbac5",
  37: "#d7dae0",
  90: "#5c6370",
  91: "#ff7a8a",
  92: "#a5e075",
  93: "#f0d48a",
  94: "#7cc4ff",
  95: "#e07ef0",
  96: "#4fd6e0",
  97: "#ffffff",
};

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

export function ansiToHtml(text: string, title: string): string {
  let color: string | null = null;
  let bold = false;
  let dim = false;
  let html = "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character starts each code
  for (const part of text.split(/(\u001b\[[0-9;]*m)/)) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character starts each code
    const code = /^\u001b\[([0-9;]*)m$/.exec(part);
    if (!code) {
      if (part === "") continue;
      const style = [
        color ? `color:${color}` : "",
        bold ? "font-weight:bold" : "",
        dim ? "opacity:0.55" : "",
      ].filter(Boolean);
      html += style.length ? `<span style="${style.join(";")}">${escapeHtml(part)}</span>` : escapeHtml(part);
      continue;
    }
    for (const n of (code[1] || "0").split(";").map(Number)) {
      if (n === 0) [color, bold, dim] = [null, false, false];
      else if (n === 1) bold = true;
      else if (n === 2) dim = true;
      else if (n === 22) [bold, dim] = [false, false];
      else if (n === 39) color = null;
      else if (COLORS[n]) color = COLORS[n] ?? null;
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body { margin: 0; background: #1e2127; }
pre { margin: 0; padding: 18px 22px; color: #d7dae0; background: #1e2127; display: inline-block;
  font: 15px/1.2 "DejaVu Sans Mono", "Liberation Mono", monospace; }
</style></head><body><pre>${html}</pre></body></html>`;
}
