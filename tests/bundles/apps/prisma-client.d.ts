// The Prisma app's generated client, resolved by the test's esbuild alias (see
// bundles.test.ts): typed by the tests' small client surface, so type-checking never
// depends on generated files.
declare module "rds-iam-bundle-prisma-client" {
  import type { TestPrismaClientClass } from "../../../packages/prisma/test/support/prisma-clients";

  export const PrismaClient: TestPrismaClientClass;
}
