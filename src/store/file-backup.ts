/**
 * Copies of a database that is a file of its own (SQLite): `tenure backup` and `tenure restore`
 * reach the dialect's backup through here, so nothing outside src/store/ reaches into its folder.
 */
export {
  type CopyProgress,
  type CopyResult,
  copySqlite as copyDatabaseFile,
  inspectSqlite as inspectDatabaseFile,
  type SqliteFileKind as DatabaseFileKind,
  sqliteInUse as databaseFileInUse,
} from "./sqlite/sqlite-backup.js";
