import { iamAuthOf, iamConnection } from "@rds-iam/knex";
import knex from "knex";
import { bundleTarget, runApp } from "./target";

// knex with IAM for the engine in RDS_IAM_BUNDLE_ENGINE: client "pg" or "mysql2".
runApp(async () => {
  const { ca, ...target } = bundleTarget();
  const postgres = process.env.RDS_IAM_BUNDLE_ENGINE === "postgres";
  const connection = iamConnection({ ...target, ssl: { ca } });
  const db = knex({ client: postgres ? "pg" : "mysql2", connection, pool: { min: 0, max: 2 } });
  try {
    const result = await db.raw(
      postgres ? "select current_user as who" : "select current_user() as who",
    );
    const rows = (postgres ? result.rows : result[0]) as { who: string }[];
    return { who: String(rows[0]?.who), mints: iamAuthOf(connection).stats().mints };
  } finally {
    await db.destroy();
  }
});
