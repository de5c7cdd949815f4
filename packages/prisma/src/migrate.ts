// `@rds-iam/prisma/migrate`: applying Prisma migrations where Prisma's engine cannot log in.
export {
  deployMysqlMigrations,
  type IamPrismaMigrationsOptions,
  type IamPrismaMigrationsResult,
} from "./deploy-mysql-migrations";
