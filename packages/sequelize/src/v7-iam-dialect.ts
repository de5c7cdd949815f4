import { RdsIamError } from "@rds-iam/core";
import { pauseIamAuth, refuseUnverifyingMariadb } from "@rds-iam/core/driver";
import { endpointOf } from "./connect-hook";
import { mariadbModuleOf } from "./mariadb-module";
import type { DialectConnect, SequelizeEndpoint } from "./sequelize-endpoint";
import type { IamSequelizeDialect } from "./sequelize-iam-options";
import type { IamSequelize7DialectClass } from "./v7-iam-options";

/** The part of a Sequelize 7 dialect instance the subclass uses. */
interface DialectLike {
  readonly options: Readonly<Record<string, unknown>>;
  readonly connectionManager: { connect: DialectConnect };
}

/** The part of the Sequelize 7 instance handed to the dialect's constructor. */
interface SequelizeLike {
  close(): Promise<unknown>;
}

type DialectConstructor = new (
  sequelize: SequelizeLike,
  options: Readonly<Record<string, unknown>> | undefined,
) => DialectLike;

/**
 * A subclass of the user's Sequelize 7 dialect class whose connection manager logs
 * every new connection in with a token of its endpoint.
 *
 * Sequelize 7 clones the write or read config per new connection, runs the
 * `beforeConnect` hooks on the clone (without the Sequelize instance), then calls the
 * dialect's `connectionManager.connect(clone)`: the one place that sees each
 * connection's final config, on an object we own. The endpoint is known by the
 * config's `password` function, which the clone keeps by reference; a hook that
 * re-targeted the config is refused before any token exists. The subclass keeps the
 * base class's `name` (Sequelize's messages use it) and its static option lists.
 */
export function iamDialect<C extends IamSequelize7DialectClass>(
  base: C,
  dialect: IamSequelizeDialect,
  endpoints: readonly SequelizeEndpoint[],
): C {
  const Base = base as unknown as DialectConstructor;
  const Iam = class extends Base {
    constructor(sequelize: SequelizeLike, options: Readonly<Record<string, unknown>> | undefined) {
      // The connection manager takes its mariadb module from the options while the base
      // constructor runs: the module checked below is the one it uses.
      const given = options ?? {};
      super(
        sequelize,
        dialect === "mariadb"
          ? { ...given, mariaDbModule: given.mariaDbModule ?? mariadbModuleOf(base) }
          : options,
      );
      const manager = this.connectionManager;
      const connect = manager.connect;
      const mariadb = this.options.mariaDbModule;
      Object.defineProperty(manager, "connect", {
        configurable: true,
        writable: true,
        value: async function iamConnect(this: unknown, config: Record<string, unknown>) {
          const endpoint = endpointOf(config.password);
          if (endpoint === undefined || !endpoints.includes(endpoint)) throw replaced("password");
          // A beforeConnect hook that re-targets the config would send a token signed
          // for another endpoint.
          if (config.user !== endpoint.username) throw replaced("user");
          if (endpoint.host !== undefined && config.host !== endpoint.host) throw replaced("host");
          const port = config.port ?? endpoint.auth.target.port;
          if (Number(port) !== endpoint.auth.target.port) throw replaced("port");
          // A mariadb connector before 3.5.1 would send the token before it checks the
          // certificate.
          if (dialect === "mariadb") refuseUnverifyingMariadb(mariadb);
          return endpoint.connect((copy) => connect.call(this, copy), config);
        },
      });
      // close() also pauses the endpoints' background refreshes.
      const close = sequelize.close;
      Object.defineProperty(sequelize, "close", {
        configurable: true,
        writable: true,
        value: function closeAndPause(this: unknown) {
          for (const endpoint of endpoints) pauseIamAuth(endpoint.auth);
          return close.call(this);
        },
      });
    }
  };
  Object.defineProperty(Iam, "name", { value: base.name });
  return Iam as unknown as C;
}

function replaced(field: string): RdsIamError {
  return new RdsIamError(
    "CONFLICTING_OPTIONS",
    `A beforeConnect hook changed config.${field}: with IAM authentication the token is the password and is signed for the configured host, port and user. Remove that hook, or configure the endpoint in withIamAuth's options (read replicas under replication).`,
    { option: `config.${field}` },
  );
}
