export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export { iamAuthOf, iamConnection } from "./iam-connection";
export type {
  IamKnexConnection,
  IamKnexConnectionConfig,
  IamKnexConnectionOptions,
  IamKnexEngine,
} from "./iam-connection-options";
export type { IamKnexDriver } from "./knex-driver";
