export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export { createIamPool, type IamMysql2PoolOptions, iamAuthOf } from "./create-iam-pool";
