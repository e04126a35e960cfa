import { BoundStore } from "./bound-store.js";

export interface ModelRecord {
  name: string;
  owner_team: string;
  created_at: number;
}

export interface VersionRecord {
  model: string;
  model_version: string;
  training_data_cutoff: number;
  created_at: number;
}

export interface GoldenRecord {
  model: string;
  environment: string;
  model_version: string;
  set_at: number;
  set_by: string;
}

/** Models, their versions, and the golden version of each model in an environment. */
export interface ModelStore {
  findModel(name: string): Promise<ModelRecord | undefined>;
  /** The models with these names that exist, in one query. */
  findModels(names: string[]): Promise<ModelRecord[]>;
  insertModels(models: ModelRecord[]): Promise<void>;
  /** Every model, by name. */
  listModels(): Promise<ModelRecord[]>;
  findVersion(model: string, version: string): Promise<VersionRecord | undefined>;
  /** The versions asked for that exist (on PostgreSQL, in one query, a superset of them). */
  findVersions(pairs: { model: string; model_version: string }[]): Promise<VersionRecord[]>;
  /** Inserts versions, skipping any that already exist. */
  insertVersions(versions: VersionRecord[]): Promise<void>;
  /** A model's versions, oldest first. */
  listVersions(model: string): Promise<VersionRecord[]>;
  findGolden(model: string, environment: string): Promise<GoldenRecord | undefined>;
  /** The golden versions of these models, in every environment. */
  listGolden(models: string[]): Promise<GoldenRecord[]>;
  /** Sets the golden version of a model in an environment, replacing the one before. */
  upsertGolden(golden: GoldenRecord): Promise<void>;
}

export class SqlModelStore extends BoundStore implements ModelStore {
  async findModel(name: string): Promise<ModelRecord | undefined> {
    return this.executor.selectFrom("models").selectAll().where("name", "=", name).executeTakeFirst();
  }

  async findModels(names: string[]): Promise<ModelRecord[]> {
    if (names.length === 0) return [];
    const direct = this.direct;
    if (direct)
      return direct.allEach<ModelRecord, string>("select * from models where name = ?", names, (n) => [n]);
    return this.executor.selectFrom("models").selectAll().where("name", "in", names).execute();
  }

  async insertModels(models: ModelRecord[]): Promise<void> {
    if (models.length === 0) return;
    const direct = this.direct;
    if (direct) {
      direct.insert("models", models);
      return;
    }
    await this.executor.insertInto("models").values(models).execute();
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.executor.selectFrom("models").selectAll().orderBy("name").execute();
  }

  async findVersion(model: string, version: string): Promise<VersionRecord | undefined> {
    return this.executor
      .selectFrom("model_versions")
      .selectAll()
      .where("model", "=", model)
      .where("model_version", "=", version)
      .executeTakeFirst();
  }

  async findVersions(pairs: { model: string; model_version: string }[]): Promise<VersionRecord[]> {
    if (pairs.length === 0) return [];
    const direct = this.direct;
    if (direct) {
      return direct.allEach<VersionRecord, (typeof pairs)[number]>(
        "select * from model_versions where model = ? and model_version = ?",
        pairs,
        (p) => [p.model, p.model_version],
      );
    }
    const models = [...new Set(pairs.map((p) => p.model))];
    const versions = [...new Set(pairs.map((p) => p.model_version))];
    return this.executor
      .selectFrom("model_versions")
      .selectAll()
      .where("model", "in", models)
      .where("model_version", "in", versions)
      .execute();
  }

  async insertVersions(versions: VersionRecord[]): Promise<void> {
    if (versions.length === 0) return;
    const direct = this.direct;
    if (direct) {
      direct.insert("model_versions", versions, { onConflict: "do nothing" });
      return;
    }
    await this.executor
      .insertInto("model_versions")
      .values(versions)
      .onConflict((oc) => oc.columns(["model", "model_version"]).doNothing())
      .execute();
  }

  async listVersions(model: string): Promise<VersionRecord[]> {
    return this.executor
      .selectFrom("model_versions")
      .selectAll()
      .where("model", "=", model)
      .orderBy("created_at")
      .orderBy("model_version")
      .execute();
  }

  async findGolden(model: string, environment: string): Promise<GoldenRecord | undefined> {
    return this.executor
      .selectFrom("golden_versions")
      .selectAll()
      .where("model", "=", model)
      .where("environment", "=", environment)
      .executeTakeFirst();
  }

  async listGolden(models: string[]): Promise<GoldenRecord[]> {
    if (models.length === 0) return [];
    return this.executor.selectFrom("golden_versions").selectAll().where("model", "in", models).execute();
  }

  async upsertGolden(golden: GoldenRecord): Promise<void> {
    await this.executor
      .insertInto("golden_versions")
      .values(golden)
      .onConflict((oc) =>
        oc.columns(["model", "environment"]).doUpdateSet({
          model_version: golden.model_version,
          set_at: golden.set_at,
          set_by: golden.set_by,
        }),
      )
      .execute();
  }
}
