import pg from "pg";
import { InputError } from "../../core/errors.js";
import { redactUrl } from "./redact-url.js";

/**
 * Creates the database a postgres:// URL names. CREATE DATABASE cannot run in the database it
 * makes, so it runs in the server's maintenance database, `postgres`, with the URL's
 * credentials. Resolves false when the database was there already (another process made it
 * meanwhile).
 */
export async function createPostgresDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (name === "") throw new InputError(`${redactUrl(url)} names no database`);
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const client = new pg.Client({ connectionString: maintenance.toString() });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`create database "${name.replaceAll('"', '""')}"`);
    return true;
  } catch (error) {
    // 42P04, duplicate_database: made between our look and our CREATE.
    if ((error as { code?: unknown }).code === "42P04") return false;
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
