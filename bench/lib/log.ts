/** Writes one line of the benchmark's progress or report to stdout. */
export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}
