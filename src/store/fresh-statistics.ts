export interface FreshStatisticsOptions {
  /** Refreshes the table's statistics and returns its row count as they now estimate it. */
  analyze(): Promise<number>;
  /** Rows added before the first refresh, and the least growth between two (1,000). */
  minRows?: number;
  /** Growth, as a share of the rows at the last refresh, that calls for the next (0.2). */
  fraction?: number;
}

/**
 * Keeps PostgreSQL's planner statistics in step with a table that grows fast. Autovacuum
 * analyzes a table once it grew by 10% too, but only when its worker next wakes (a minute by
 * default): a fleet imported in one go is listed in the meantime from statistics of an empty
 * table, and the planner sorts every deployment of a team rather than reading a page of them in
 * index order (BENCHMARKS.md, registry session 3). This counts rows as they are written and runs
 * ANALYZE in the background when the table grew by `fraction` since the last one, one at a
 * time; a failure is left for autovacuum.
 */
export class FreshStatistics {
  private readonly minRows: number;
  private readonly fraction: number;
  private grown = 0;
  private rows = 0;
  private running: Promise<void> | undefined;

  constructor(private readonly options: FreshStatisticsOptions) {
    this.minRows = options.minRows ?? 1_000;
    this.fraction = options.fraction ?? 0.2;
  }

  /** Counts `rows` written; starts a refresh when the table grew enough since the last one. */
  grew(rows: number): void {
    this.grown += rows;
    if (this.running || this.grown < Math.max(this.minRows, this.rows * this.fraction)) return;
    this.grown = 0;
    this.running = this.options
      .analyze()
      .then(
        (estimate) => {
          this.rows = Math.max(estimate, 0);
        },
        () => {},
      )
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Resolves once no refresh is running: before the database closes. */
  async idle(): Promise<void> {
    await this.running;
  }
}
