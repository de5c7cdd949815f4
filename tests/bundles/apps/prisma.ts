import { createIamAdapter, iamAuthOf } from "@rds-iam/prisma";
// Resolved by the test's esbuild alias to the client generated for the engine.
import { PrismaClient } from "rds-iam-bundle-prisma-client";
import { bundleTarget, runApp } from "./target";

// Prisma 7 with the IAM driver adapter for the engine in RDS_IAM_BUNDLE_ENGINE.
runApp(async () => {
  const { ca, ...target } = bundleTarget();
  const postgres = process.env.RDS_IAM_BUNDLE_ENGINE === "postgres";
  const adapter = createIamAdapter({
    engine: postgres ? "postgres" : "mysql",
    ...target,
    ssl: { ca },
  });
  const prisma = new PrismaClient({ adapter });
  try {
    const rows = await prisma.$queryRawUnsafe<{ who: string }[]>(
      postgres ? "select current_user as who" : "select current_user() as who",
    );
    return { who: String(rows[0]?.who), mints: iamAuthOf(adapter).stats().mints };
  } finally {
    await prisma.$disconnect();
  }
});
