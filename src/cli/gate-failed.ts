/** A CI gate found what it fails on, already printed: exit 1 with one line on stderr. */
export class GateFailed extends Error {
  override name = "GateFailed";
}
