import { type IamAuth, isRdsIamError, RdsIamError } from "@rds-iam/core";
import {
  type BindingNames,
  isAuthFailure,
  mariadbConfigOf,
  mysql2ConfigOf,
  type PreparedBinding,
  pgConfigOf,
  prepareBinding,
  withAuthRetry,
  withCheckoutAuthRetry,
} from "@rds-iam/core/driver";
import type { IamSequelizeDialect } from "./sequelize-iam-options";

/** The dialect connection manager's `connect(config)`, which opens one connection. */
export type DialectConnect = (config: Record<string, unknown>) => Promise<unknown>;

/**
 * One endpoint (the database, the writer or a read replica) as Sequelize will dial
 * it: a token provider signed for that endpoint, the `dialectOptions` its connections
 * get (TLS, and for mysql2 the clear-password plugin), and how to open a connection.
 */
export interface SequelizeEndpoint {
  readonly auth: IamAuth;
  /**
   * The config's `password`. A function, so Sequelize keeps it by reference through
   * its `cloneDeep` of the config and the read / write pools' copies: the hook knows
   * the endpoint by it. For postgres it is pg's per-connection token function;
   * mysql2 and mariadb never see it.
   */
  readonly password: () => Promise<string>;
  readonly dialectOptions: Readonly<Record<string, unknown>>;
  /** The target as Sequelize's config holds it, to notice a hook that changed it. */
  readonly host: string | undefined;
  readonly username: string;
  /**
   * Opens a connection through Sequelize's own `connect`, and retries once with a
   * fresh token if the database rejects the login.
   */
  connect(open: DialectConnect, config: Record<string, unknown>): Promise<unknown>;
}

/** What one endpoint is made of, as the user wrote it. */
export interface EndpointInput {
  readonly dialect: IamSequelizeDialect;
  readonly host: unknown;
  readonly port: unknown;
  readonly username: string;
  readonly iam: Readonly<Record<string, unknown>>;
  /** The driver options minus `ssl` (checked by the caller). */
  readonly dialectOptions: Readonly<Record<string, unknown>>;
  readonly ssl: unknown;
  readonly names: BindingNames;
}

export function sequelizeEndpoint(input: EndpointInput): SequelizeEndpoint {
  const { dialect } = input;
  const engine = dialect === "postgres" ? "postgres" : "mysql";
  const { auth, dialectOptions, password } = renamingTlsErrors(() =>
    driverView(
      dialect,
      prepareBinding(
        {
          ...input.dialectOptions,
          ...input.iam,
          host: input.host,
          port: input.port,
          user: input.username,
          ssl: input.ssl,
        },
        { what: "withIamAuth", engine, names: input.names },
      ),
    ),
  );
  // The driver's error under Sequelize's ConnectionError (`parent`), when it is ours (a
  // typed error: TLS, credentials) or a rejected login (for the retry and its `cause`).
  const unwrapped = (error: unknown): unknown => {
    const parent = (error as { parent?: unknown } | null)?.parent;
    return isRdsIamError(parent) || isAuthFailure(parent, engine) ? parent : error;
  };
  const attempt = (open: DialectConnect, config: Record<string, unknown>) =>
    open(config).catch((error: unknown) => {
      throw unwrapped(error);
    });
  return {
    auth,
    password,
    dialectOptions,
    host: input.host as string | undefined,
    username: input.username,
    connect(open, config) {
      if (dialect === "mariadb") {
        // The connector snapshots a string password: each attempt gets the token, in a
        // copy of the config that nothing keeps (not enumerable: never printed).
        return withAuthRetry(auth, (token) => {
          const copy = { ...config };
          Object.defineProperty(copy, "password", { get: () => token, enumerable: false });
          return attempt(open, copy);
        });
      }
      // pg asks the password function, mysql2 its auth plugin, per new connection.
      const copy = dialect === "postgres" ? config : { ...config, password: undefined };
      return withCheckoutAuthRetry(auth, () => attempt(open, copy));
    },
  };
}

function driverView(
  dialect: IamSequelizeDialect,
  binding: PreparedBinding,
): Pick<SequelizeEndpoint, "auth" | "dialectOptions" | "password"> {
  if (dialect === "postgres") {
    const { config, auth } = pgConfigOf(binding);
    // Sequelize picks `ssl` (and its other pg keys) from dialectOptions; host, port and
    // user it takes from its own options, which are the same here.
    return {
      auth,
      password: config.password,
      dialectOptions: { ...binding.driver, ssl: config.ssl },
    };
  }
  // mysql / mariadb: Sequelize spreads dialectOptions last over its own connection
  // options, so `host` (the endpoint, for mysql2's certificate name check), `stream`
  // (dialling the real host), TLS and the auth plugin all win.
  const { config, auth } = dialect === "mysql" ? mysql2ConfigOf(binding) : mariadbConfigOf(binding);
  const password = async () => {
    throw new RdsIamError(
      "INVALID_OPTION",
      "This password placeholder is read by @rds-iam/sequelize's beforeConnect hook only; the Sequelize options were used without it.",
      { option: "hooks.beforeConnect" },
    );
  };
  return { auth, password, dialectOptions: config };
}

/** Core names TLS options `ssl...`; Sequelize users set them under `dialectOptions`. */
function renamingTlsErrors<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    const option = isRdsIamError(error) ? error.option : undefined;
    if (isRdsIamError(error) && (option === "ssl" || option?.startsWith("ssl."))) {
      throw new RdsIamError(
        error.code,
        `${error.message} (In Sequelize options: dialectOptions.${option}.)`,
        {
          option: `dialectOptions.${option}`,
          cause: error,
        },
      );
    }
    throw error;
  }
}
