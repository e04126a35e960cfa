import { execFile } from "node:child_process";
import { hasExternalTool } from "./external-tool.js";
import { cleanEnv, type RunOptions, type RunResult, TENURE_BIN } from "./process.js";

/** util-linux's `script`, which runs a command on a pseudo-terminal: what a person at one sees. */
export const SCRIPT = "/usr/bin/script";

export function hasScript(): boolean {
  return hasExternalTool(SCRIPT, "apt-get install bsdutils");
}

/** A word a POSIX shell reads back as it is. */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs `node bin/tenure.js ...args` on a pseudo-terminal, so its stdout and stderr are both a
 * TTY, and resolves with what the terminal showed (stdout and stderr together, as a screen
 * has them) with the terminal's CRLF line ends made LF, and its exit code.
 */
export function runInTerminal(args: string[], options: RunOptions): Promise<RunResult> {
  const command = [process.execPath, TENURE_BIN, ...args].map(shellWord).join(" ");
  return new Promise((done, fail) => {
    const child = execFile(
      SCRIPT,
      ["--quiet", "--flush", "--return", "--command", command, "/dev/null"],
      {
        cwd: options.cwd,
        env: cleanEnv({ TERM: "xterm-256color", ...options.env }),
        timeout: options.timeoutMs ?? 30_000,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          fail(
            new Error(`tenure ${args.join(" ")} did not finish on a terminal: ${error.message}\n${stderr}`),
          );
          return;
        }
        done({ code: error ? (error.code as number) : 0, stdout: stdout.replaceAll("\r\n", "\n"), stderr });
      },
    );
    // `script` copies its stdin to the terminal: an empty one, closed, leaves the command alone.
    child.stdin?.end();
  });
}

/** ANSI SGR sequences (colours, bold): what a pipe must never get. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape character is the point
export const ANSI_COLOR = /\u001b\[[0-9;]*m/;

/** Every ANSI escape sequence (colours, cursor moves, line clears), for a text with them removed. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape character is the point
const ANSI_ANY = /\u001b(?:\[[0-9;?]*[A-Za-z]|[78])/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_ANY, "");
}
