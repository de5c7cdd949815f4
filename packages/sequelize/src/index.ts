export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export type {
  IamSequelizeDialect,
  IamSequelizeFields,
  IamSequelizeOptions,
  IamSequelizeReplica,
  IamSequelizeResult,
} from "./sequelize-iam-options";
export { iamAuthOf, withIamAuth } from "./with-iam-auth";
