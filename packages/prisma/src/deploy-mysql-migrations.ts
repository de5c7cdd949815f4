import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type IamConnectionOptions, RdsIamError } from "@rds-iam/core";
import {
  type MariadbModuleLike,
  mariadbConfigOf,
  mariadbConnector,
  prepareBinding,
} from "@rds-iam/core/driver";
import type { Connection } from "mariadb";
import { importMariadb } from "./load-peer";

/** Options for {@link deployMysqlMigrations}. */
export interface IamPrismaMigrationsOptions extends IamConnectionOptions {
  /** The database the migrations apply to. */
  database: string;
  /** The Prisma migrations folder. Default `prisma/migrations` (relative to the working directory). */
  migrationsDir?: string | undefined;
  /** Progress lines (migration names only, never a token). Default `console.log`. */
  log?: ((line: string) => void) | undefined;
  /** Other mariadb connection options (e.g. `connectTimeout`). Default none. */
  connection?: Readonly<Record<string, unknown>> | undefined;
}

/** What {@link deployMysqlMigrations} did. */
export interface IamPrismaMigrationsResult {
  /** Migrations applied by this call, in order. */
  readonly applied: readonly string[];
  /** Migrations that were already applied. */
  readonly skipped: readonly string[];
}

// Prisma's own table, so `prisma migrate status` (from a machine that can log in)
// and later `prisma migrate deploy` runs agree with what was applied here.
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`;

/** The advisory lock `prisma migrate` takes, so the two never run at once. */
const LOCK_NAME = "prisma_migrate";
const LOCK_TIMEOUT_SECONDS = 10;

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/**
 * `prisma migrate deploy` for MySQL / MariaDB over an IAM login. Prisma's engine
 * cannot send the cleartext password RDS needs for MySQL IAM logins
 * (prisma/prisma#10304); this applies the same `migration.sql` files through the
 * mariadb connector instead (token via `mysql_clear_password`, verified TLS), and
 * records them in Prisma's `_prisma_migrations` table exactly as Prisma does
 * (SHA-256 checksum of the script), so both tools agree on what is applied.
 *
 * Semantics follow `migrate deploy`: pending migrations run in name order, each in
 * one round trip; a failed migration is recorded and stops the run, and a later run
 * refuses to continue until it is resolved; edited applied migrations and unknown
 * applied migrations are reported, not touched. Takes Prisma's advisory lock.
 *
 * @throws RdsIamError for bad options; an Error naming the migration that failed.
 */
export async function deployMysqlMigrations(
  options: IamPrismaMigrationsOptions,
): Promise<IamPrismaMigrationsResult> {
  const {
    migrationsDir = join("prisma", "migrations"),
    log = (line: string) => console.log(line),
    connection: extra = {},
    ...iam
  } = options;
  if (typeof options.database !== "string" || options.database === "") {
    throw new RdsIamError("MISSING_OPTION", "database is required: the database to migrate.", {
      option: "database",
    });
  }
  const migrations = await readMigrations(resolve(migrationsDir));
  const mariadb = await importMariadb();
  const module = (
    typeof mariadb.createConnection === "function" ? mariadb : mariadb.default
  ) as MariadbModuleLike<Connection>;
  const view = mariadbConfigOf(
    prepareBinding(
      {
        ...extra,
        ...iam,
        // Migration scripts hold many statements; each runs in one round trip.
        multipleStatements: true,
      },
      { what: "deployMysqlMigrations", engine: "mysql" },
    ),
  );
  const { auth } = view;
  const connect = mariadbConnector(module, view);

  const connection = await connect();
  try {
    const [lock] = await connection.query<Array<{ locked: number | bigint | null }>>(
      "SELECT GET_LOCK(?, ?) AS locked",
      [LOCK_NAME, LOCK_TIMEOUT_SECONDS],
    );
    if (Number(lock?.locked) !== 1) {
      throw new Error(
        `Another migration holds the "${LOCK_NAME}" lock on ${options.database}; try again when it is done.`,
      );
    }
    try {
      return await applyPending(connection, migrations, log);
    } finally {
      await connection.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]);
    }
  } finally {
    await connection.end().catch(() => connection.destroy());
    auth.close();
  }
}

async function applyPending(
  connection: Connection,
  migrations: readonly { name: string; script: string }[],
  log: (line: string) => void,
): Promise<IamPrismaMigrationsResult> {
  await connection.query(MIGRATIONS_TABLE);
  const rows = await connection.query<MigrationRow[]>(
    "SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at",
  );
  const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed !== undefined) {
    throw new Error(
      `Migration ${failed.migration_name} failed earlier (see the logs column of _prisma_migrations). Fix the database, then mark it rolled back (UPDATE _prisma_migrations SET rolled_back_at = NOW(3) WHERE migration_name = '${failed.migration_name}') or applied (set finished_at), and run again.`,
    );
  }
  const applied = new Map(
    rows
      .filter((row) => row.finished_at !== null && row.rolled_back_at === null)
      .map((row) => [row.migration_name, row.checksum]),
  );
  const local = new Set(migrations.map((migration) => migration.name));
  for (const name of applied.keys()) {
    if (!local.has(name)) log(`Warning: ${name} is applied but not in the migrations folder.`);
  }

  const done: string[] = [];
  const skipped: string[] = [];
  log(`${migrations.length} migration(s) found, ${applied.size} applied before.`);
  for (const { name, script } of migrations) {
    const checksum = createHash("sha256").update(script).digest("hex");
    const previous = applied.get(name);
    if (previous !== undefined) {
      if (previous !== checksum) log(`Warning: ${name} was modified after it was applied.`);
      skipped.push(name);
      continue;
    }
    const id = randomUUID();
    await connection.query(
      "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, NOW(3), 0)",
      [id, checksum, name],
    );
    try {
      if (script.trim() !== "") await connection.query(script);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await connection.query("UPDATE _prisma_migrations SET logs = ? WHERE id = ?", [message, id]);
      throw new Error(`Migration ${name} failed: ${message}`, { cause: error });
    }
    await connection.query(
      "UPDATE _prisma_migrations SET finished_at = NOW(3), applied_steps_count = 1 WHERE id = ?",
      [id],
    );
    log(`Applied ${name}`);
    done.push(name);
  }
  return { applied: done, skipped };
}

async function readMigrations(directory: string): Promise<{ name: string; script: string }[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `migrationsDir ${JSON.stringify(directory)} cannot be read: create migrations with \`prisma migrate dev\` (against a local database) or pass the right folder.`,
      { option: "migrationsDir", cause: error },
    );
  }
  const lock = await readFile(join(directory, "migration_lock.toml"), "utf8").catch(() => "");
  const provider = /provider\s*=\s*"([^"]+)"/.exec(lock)?.[1];
  if (provider !== undefined && provider !== "mysql") {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `The migrations in ${JSON.stringify(directory)} were written for ${provider}, not mysql.`,
      { option: "migrationsDir" },
    );
  }
  const migrations: { name: string; script: string }[] = [];
  for (const entry of entries
    .filter((e) => e.isDirectory())
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const script = await readFile(join(directory, entry.name, "migration.sql"), "utf8").catch(
      () => undefined,
    );
    if (script !== undefined) migrations.push({ name: entry.name, script });
  }
  return migrations;
}
