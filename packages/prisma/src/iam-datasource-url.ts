import { type IamDatabaseUrlOptions, iamDatabaseUrl } from "@rds-iam/core";

/** Options for {@link iamDatasourceUrl}; see `@rds-iam/core`'s `iamDatabaseUrl`. */
export type IamPrismaDatasourceUrlOptions = IamDatabaseUrlOptions;

/**
 * A database URL with a fresh IAM token, for Prisma's CLI (`prisma migrate deploy`,
 * `db pull`, ...) through `prisma.config.ts`:
 *
 * ```ts
 * export default defineConfig({
 *   datasource: { url: await iamDatasourceUrl({ engine: "postgres", host, user, database }) },
 * });
 * ```
 *
 * Defaults: `flavor: "prisma"`, i.e. `sslmode=require&sslcert=<CA file>&sslaccept=strict`,
 * where the CA file is the RDS CA bundle (or your `ssl.ca`) written once to
 * `os.tmpdir()/rds-iam-<uid>/`, a directory only you can write (`caFile` names your
 * own file instead). The token is encoded
 * with `encodeURIComponent`. `flavor: "node-postgres"` / `"mysql2"` write URLs those
 * drivers parse.
 *
 * MySQL with the `prisma` flavour is refused with an explanation: Prisma's engine
 * cannot send the cleartext password RDS needs (prisma/prisma#10304); use
 * `deployMysqlMigrations` (from `@rds-iam/prisma/migrate`) to apply migrations.
 *
 * The token is valid for 15 minutes: build the URL right before the command runs.
 */
export function iamDatasourceUrl(options: IamPrismaDatasourceUrlOptions): Promise<string> {
  return iamDatabaseUrl(options);
}
