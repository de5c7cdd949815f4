export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export type {
  IamMikroOrmConfig,
  IamMikroOrmFields,
  IamMikroOrmOptions,
} from "./iam-mikro-orm-options";
export type { IamMikroOrmDriverKind } from "./mikro-orm-driver";
export { iamAuthOf, withIamAuth } from "./with-iam-auth";
