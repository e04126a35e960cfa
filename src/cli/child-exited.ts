/** The command ran in a child process, which printed what it had to say and exited with `code`. */
export class ChildExited extends Error {
  override name = "ChildExited";
  constructor(readonly code: number) {
    super(`the command's process exited with ${code}`);
  }
}
