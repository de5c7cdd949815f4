import { createIamPool, iamAuthOf } from "@rds-iam/pg";
import { bundleTarget, runApp } from "./target";

// @rds-iam/pg: a pg.Pool whose connections log in with a current token.
runApp(async () => {
  const { ca, ...target } = bundleTarget();
  const pool = createIamPool({ ...target, ssl: { ca }, max: 2 });
  try {
    const { rows } = await pool.query<{ who: string }>("select current_user as who");
    return { who: String(rows[0]?.who), mints: iamAuthOf(pool).stats().mints };
  } finally {
    await pool.end();
  }
});
