/** The PostgreSQL server tests make their own databases on. */
export const POSTGRES_URL = process.env.TENURE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
