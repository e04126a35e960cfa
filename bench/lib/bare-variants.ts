/**
 * What the bare PostgreSQL write server (bench/lib/bare-postgres-server.ts) can take away from
 * Tenure's schema and durability, to show what each costs: `schema` takes nothing away.
 */
export const BARE_VARIANTS = ["schema", "no-foreign-keys", "no-list-indexes", "async-commit"] as const;
export type BareVariant = (typeof BARE_VARIANTS)[number];
