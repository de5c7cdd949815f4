export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export { createIamPool, type IamPgPoolOptions, iamAuthOf } from "./create-iam-pool";
