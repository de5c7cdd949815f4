import { createIamPool, iamAuthOf } from "@rds-iam/mysql2";
import { bundleTarget, runApp } from "./target";

// @rds-iam/mysql2: a mysql2 pool whose connections log in with a current token.
runApp(async () => {
  const { ca, ...target } = bundleTarget();
  const pool = createIamPool({ ...target, ssl: { ca }, connectionLimit: 2 }).promise();
  try {
    const [rows] = await pool.query("select current_user() as who");
    const who = (rows as { who: string }[])[0]?.who;
    return { who: String(who), mints: iamAuthOf(pool).stats().mints };
  } finally {
    await pool.end();
  }
});
