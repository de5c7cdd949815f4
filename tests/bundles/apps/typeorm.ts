import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import { DataSource } from "typeorm";
import { bundleTarget, runApp } from "./target";

// TypeORM with IAM, type "postgres" or "mysql" from RDS_IAM_BUNDLE_ENGINE; the driver
// module is left for @rds-iam/typeorm to load (what a bundle used to break).
runApp(async () => {
  const { host, port, user, database, iamHost, iamDefaultPort, iamRegion, ca } = bundleTarget();
  const postgres = process.env.RDS_IAM_BUNDLE_ENGINE === "postgres";
  const source = new DataSource(
    withIamAuth({
      type: postgres ? "postgres" : "mysql",
      host,
      port,
      username: user,
      database,
      ssl: { ca },
      iam: { iamHost, iamDefaultPort, iamRegion },
    }),
  );
  await source.initialize();
  try {
    const rows = (await source.query(
      postgres ? "select current_user as who" : "select current_user() as who",
    )) as { who: string }[];
    return { who: String(rows[0]?.who), mints: iamAuthOf(source).stats().mints };
  } finally {
    await source.destroy();
  }
});
