import type { DeploymentView } from "../registry/deployment-view.js";
import { ageBar, ttlPercent } from "./age-bar.js";
import { type CellPaint, columnWidths, DEPLOYMENT_HEADERS, deploymentRows, table } from "./format.js";
import type { OutputMode } from "./output-mode.js";
import { type Palette, palette } from "./palette.js";
import type { TenureClient } from "./tenure-client.js";

/** Where the age bar goes: after AGE, whose number it draws against the TTL. */
const BAR_COLUMN = DEPLOYMENT_HEADERS.indexOf("AGE") + 1;
const FILLED = /[█▉▊▋▌▍▎▏]+/g;

/**
 * The table `tenure ls` prints. In a pipe, the plain table scripts have always read: the same
 * columns, no escape codes. On a terminal (see `outputMode`), an AGE/TTL column draws each
 * deployment's age against its TTL with its review point marked, and stages and verdicts are in
 * colour as well as in words.
 */
export class DeploymentTable {
  readonly headers: string[];
  private readonly colors: Palette;
  /** Each policy's review point, asked once per policy (the list's rows do not carry it). */
  private readonly reviewAt = new Map<string, Promise<number | null>>();

  constructor(
    private readonly client: Pick<TenureClient, "explain">,
    private readonly mode: OutputMode,
  ) {
    this.colors = palette(mode.color);
    this.headers = mode.drawings
      ? [...DEPLOYMENT_HEADERS.slice(0, BAR_COLUMN), "AGE/TTL", ...DEPLOYMENT_HEADERS.slice(BAR_COLUMN)]
      : DEPLOYMENT_HEADERS;
  }

  /** The rows of `items` as text, each cell as wide as it prints. */
  async rows(items: DeploymentView[]): Promise<string[][]> {
    const plain = deploymentRows(items);
    if (!this.mode.drawings) return plain;
    // The percent first, right-aligned, so the bars start in one column: ` 63% ████████▉··│··`.
    const bars = await Promise.all(
      items.map(
        async (d) =>
          `${ttlPercent(d.age.ttl_fraction).padStart(4)} ${ageBar(d.age.ttl_fraction, await this.reviewPoint(d))}`,
      ),
    );
    return plain.map((row, i) => [...row.slice(0, BAR_COLUMN), bars[i] ?? "", ...row.slice(BAR_COLUMN)]);
  }

  /** `items` as a table (columns at least `minWidths` wide), and the widths its columns took. */
  async render(items: DeploymentView[], minWidths?: number[]): Promise<{ text: string; widths: number[] }> {
    const rows = await this.rows(items);
    const text = table(this.headers, rows, minWidths, this.mode.color ? this.paint(items) : undefined);
    return { text, widths: columnWidths(this.headers, rows, minWidths) };
  }

  private paint(items: DeploymentView[]): CellPaint {
    const stage = this.headers.indexOf("STAGE");
    const verdict = this.headers.indexOf("VERDICT");
    const c = this.colors;
    return (text, row, column) => {
      if (row < 0) return c.bold(text);
      const d = items[row];
      if (!d) return text;
      const key = d.age.exempt ? null : d.age.stage;
      if (column === stage) return d.age.exempt ? c.dim(text) : c.stage(text, key);
      if (column === verdict) return c.verdict(text, d.age.verdict);
      if (column === BAR_COLUMN && this.mode.drawings) {
        return text.replace(FILLED, (run) => c.stage(run, key)).replace(/·+/g, (run) => c.dim(run));
      }
      return text;
    };
  }

  private reviewPoint(d: DeploymentView): Promise<number | null> {
    let known = this.reviewAt.get(d.age.policy);
    if (!known) {
      // A deployment that cannot be explained (ended meanwhile, a server that refuses) draws
      // its bar without the mark rather than failing the list.
      known = this.client.explain(d.id).then(
        (e) => e.review_at,
        () => null,
      );
      this.reviewAt.set(d.age.policy, known);
    }
    return known;
  }
}
