export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export type {
  IamDatabaseType,
  IamDataSourceFields,
  TypeormIamOptions,
} from "./typeorm-iam-options";
export { iamAuthOf, type WithoutIam, withIamAuth } from "./with-iam-auth";
