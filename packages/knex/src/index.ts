export { iamConnection } from "./iam-connection";
export type {
  IamKnexConnection,
  IamKnexConnectionConfig,
  IamKnexConnectionOptions,
  IamKnexEngine,
} from "./iam-connection-options";
export type { KnexIamDriver } from "./knex-driver";
