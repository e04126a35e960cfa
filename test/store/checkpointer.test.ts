import { statSync } from "node:fs";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { startCheckpointer } from "../../src/store/sqlite/checkpointer.js";
import { pollUntil, tempDir } from "../support/process.js";

// A server's SQLite connection leaves WAL checkpoints to a thread of its own: commits only append
// to the WAL, and the thread copies the pages into the database file.
describe("the checkpointer thread", () => {
  it("copies the WAL into the database file, while the writer's own threshold is far off", async () => {
    const folder = tempDir();
    const file = join(folder.path, "tenure.db");
    const database = openDatabase(file, { backgroundCheckpoints: true });
    try {
      // The tables here are the test's own, not Tenure's schema.
      const db = database.db as unknown as Kysely<Record<string, { n: number }>>;
      await db.schema.createTable("t").addColumn("n", "integer").execute();
      const before = statSync(file).size;
      // About 1,500 pages of WAL: the writer's own threshold is 16,000.
      for (let batch = 0; batch < 30; batch++) {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto("t")
            .values(Array.from({ length: 50 }, (_, i) => ({ n: batch * 50 + i })))
            .execute();
          await trx.schema.createTable(`filler_${batch}`).addColumn("n", "integer").execute();
        });
      }
      const grown = await pollUntil("the checkpointer thread to copy pages into the database", async () =>
        statSync(file).size > before ? statSync(file).size : undefined,
      );
      expect(grown).toBeGreaterThan(before);
      expect(
        await db
          .selectFrom("t")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirst(),
      ).toEqual({
        n: 1_500,
      });
    } finally {
      await database.close();
      folder.remove();
    }
  });

  it("says so once when it cannot work, so that commits go back to checkpointing in line", async () => {
    const failures: string[] = [];
    const checkpointer = startCheckpointer("/nonexistent-folder/tenure.db", (message) =>
      failures.push(message),
    );
    await pollUntil("the failure to be reported", async () => (failures.length > 0 ? true : undefined));
    await checkpointer.stop();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/unable to open|directory does not exist|cannot open/i);
  });
});
