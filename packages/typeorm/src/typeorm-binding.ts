import type { Engine } from "@rds-iam/core";
import {
  MYSQL2_URI,
  PG_CONNECTION_STRING,
  type PreparedBinding,
  prepareBinding,
} from "@rds-iam/core/driver";
import type { IamTypeormDataSourceFields, IamTypeormOptions } from "./typeorm-iam-options";

/** How the `iam` options are spelled in TypeORM options, for error messages. */
const IAM_NAMES = {
  host: "host",
  port: "port",
  user: "username",
  iamHost: "iam.iamHost",
  iamDefaultPort: "iam.iamDefaultPort",
  iamRegion: "iam.iamRegion",
  iamTokenExpiration: "iam.iamTokenExpiration",
  credentials: "iam.credentials",
  awsProfile: "iam.awsProfile",
  clock: "iam.clock",
  iamTimeout: "iam.iamTimeout",
  connectionString: "url",
} as const;

/**
 * Core's binding for DataSource options: the target (`host`, `port`, `username`) and
 * `ssl` come from TypeORM's own options, the rest from `iam`; errors name them as
 * TypeORM users write them.
 */
export function typeormBinding(
  options: IamTypeormDataSourceFields & Record<string, unknown>,
  iam: IamTypeormOptions,
  engine: Engine,
): PreparedBinding {
  return prepareBinding(
    {
      ...iam,
      host: options.host as string,
      port: options.port,
      user: options.username as string,
      ssl: options.ssl,
    },
    {
      what: "withIamAuth",
      engine,
      names: IAM_NAMES,
      refuse: [engine === "postgres" ? PG_CONNECTION_STRING : MYSQL2_URI],
    },
  );
}
