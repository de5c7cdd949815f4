export type {
  IamDatabaseType,
  IamDataSourceFields,
  TypeormIamOptions,
} from "./typeorm-iam-options";
export { iamAuthOf, withIamAuth } from "./with-iam-auth";
