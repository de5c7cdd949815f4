// `@rds-iam/sequelize/v7`: the same contract as the package's main entry, for
// Sequelize 7 (`@sequelize/core` with `@sequelize/postgres`, `/mysql` or `/mariadb`).
export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export type { IamSequelizeOptions } from "./sequelize-iam-options";
export type {
  IamSequelize7DialectClass,
  IamSequelize7Fields,
  IamSequelize7Replica,
  IamSequelize7Result,
} from "./v7-iam-options";
export { iamAuthOf, withIamAuth } from "./v7-with-iam-auth";
