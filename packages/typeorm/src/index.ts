export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export type {
  IamTypeormDatabaseType,
  IamTypeormDataSourceFields,
  IamTypeormOptions,
} from "./typeorm-iam-options";
export { type IamTypeormDataSourceOptions, iamAuthOf, withIamAuth } from "./with-iam-auth";
