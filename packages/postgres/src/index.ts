export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export { createIamSql, type IamPostgresSqlOptions, iamAuthOf } from "./create-iam-sql";
