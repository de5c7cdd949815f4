import type { IamAuth } from "@rds-iam/core";
import {
  type Mysql2PoolLike,
  mysql2ConfigOf,
  pauseWhenEnded,
  refusePacketDebug,
  withMysql2AuthRetry,
} from "@rds-iam/core/driver";
import { loadDriverModule } from "./load-driver";
import { typeormBinding } from "./typeorm-binding";
import type { IamTypeormDataSourceFields, IamTypeormOptions } from "./typeorm-iam-options";

/**
 * TypeORM `mysql` / `mariadb` options on mysql2: verified TLS, the clear-password
 * plugin in `extra` (merged with the user's, TypeORM merges `extra` last into the
 * pool config), and a driver whose pools retry a rejected login once.
 */
export function mysqlIamOptions(
  options: IamTypeormDataSourceFields & Record<string, unknown>,
  iam: IamTypeormOptions,
): { options: Record<string, unknown>; auth: IamAuth } {
  const { config, auth } = mysql2ConfigOf(typeormBinding(options, iam, "mysql"));
  const extra = (
    typeof options.extra === "object" && options.extra !== null ? options.extra : {}
  ) as Record<string, unknown>;
  // TypeORM hands its own `debug` option to mysql2 as is, and `extra` on top.
  refusePacketDebug({ debug: options.debug }, "mysql2", iam.iamAllowTokenInDebugOutput);
  refusePacketDebug(extra, "mysql2", iam.iamAllowTokenInDebugOutput, "extra.");
  const userPlugins =
    typeof extra.authPlugins === "object" && extra.authPlugins !== null ? extra.authPlugins : {};
  const base = (options.driver ?? loadDriverModule("mysql2")) as {
    createPool(config: unknown): Mysql2PoolLike & { end(...args: never[]): unknown };
  };
  const driver = Object.assign(Object.create(base) as object, {
    // DataSource.destroy() ends the pool: the provider's background work stops with it.
    createPool: (poolConfig: unknown) =>
      pauseWhenEnded(withMysql2AuthRetry(base.createPool(poolConfig), auth), auth),
  });
  return {
    auth,
    options: {
      ...options,
      ...(config.ssl === undefined ? {} : { ssl: config.ssl }),
      // TypeORM 0.3 would otherwise load the `mysql` package, which cannot send a token.
      connectorPackage: "mysql2",
      driver,
      extra: {
        ...extra,
        // mysql2 checks the certificate's name against `host` only: it must be the
        // endpoint, with a stream factory dialling a tunnel or IP (see mysql2IamConfig).
        host: config.host,
        ...(config.stream === undefined ? {} : { stream: config.stream }),
        authPlugins: { ...userPlugins, ...(config.authPlugins as object) },
      },
    },
  };
}
