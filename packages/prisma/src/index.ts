export type { IamAuth, IamAuthStats } from "@rds-iam/core";
export { isRdsIamError, RdsIamError } from "@rds-iam/core";
export { createIamAdapter, iamAuthOf } from "./create-iam-adapter";
export { type IamPrismaDatasourceUrlOptions, iamDatasourceUrl } from "./iam-datasource-url";
export type {
  IamPrismaMariadbAdapterExtras,
  IamPrismaMariadbAdapterFactory,
  IamPrismaMariadbAdapterOptions,
} from "./mariadb-adapter";
export type {
  IamPrismaPgAdapterExtras,
  IamPrismaPgAdapterFactory,
  IamPrismaPgAdapterOptions,
} from "./pg-adapter";
