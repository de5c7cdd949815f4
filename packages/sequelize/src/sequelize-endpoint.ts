import { type IamAuth, isRdsIamError, RdsIamError } from "@rds-iam/core";
import {
  type BindingNames,
  isAuthFailure,
  mariadbConfigOf,
  mysql2ConfigOf,
  type PreparedBinding,
  pgConfigOf,
  prepareBinding,
  refusePacketDebug,
  withAuthRetry,
  withCheckoutAuthRetry,
} from "@rds-iam/core/driver";
import type { IamSequelizeDialect } from "./sequelize-iam-options";

/** The dialect connection manager's `connect(config)`, which opens one connection. */
export type DialectConnect = (config: Record<string, unknown>) => Promise<unknown>;

/**
 * One endpoint (the database, the writer or a read replica) as Sequelize will dial
 * it: a token provider signed for that endpoint, the driver options its connections
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
  /**
   * Sequelize 6: the `dialectOptions` to give Sequelize (it spreads them over its own
   * connection options). Sequelize 7: what core added to or changed in the user's
   * connection options, spread over each connection's config by `connect`.
   */
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
  /** Sequelize's major version: where driver errors and options live differs. */
  readonly major: 6 | 7;
  readonly dialect: IamSequelizeDialect;
  readonly host: unknown;
  readonly port: unknown;
  readonly username: string;
  readonly iam: Readonly<Record<string, unknown>>;
  /**
   * The driver options minus `ssl` (checked by the caller): Sequelize 6's
   * `dialectOptions`, Sequelize 7's connection options other than the target.
   */
  readonly dialectOptions: Readonly<Record<string, unknown>>;
  readonly ssl: unknown;
  readonly names: BindingNames;
}

export function sequelizeEndpoint(input: EndpointInput): SequelizeEndpoint {
  const { dialect, major } = input;
  const engine = dialect === "postgres" ? "postgres" : "mysql";
  // Sequelize 7 takes TLS as `ssl` at the root, as core names it.
  const build = major === 6 ? renamingTlsErrors : <T>(make: () => T) => make();
  let allowDebugOutput: unknown;
  const view = build(() => {
    const binding = prepareBinding(
      {
        ...input.dialectOptions,
        ...input.iam,
        host: input.host,
        port: input.port,
        user: input.username,
        ssl: input.ssl,
      },
      { what: "withIamAuth", engine, names: input.names },
    );
    allowDebugOutput = binding.iamAllowTokenInDebugOutput;
    return driverView(dialect, binding);
  });
  const { auth, password } = view;
  const dialectOptions = major === 6 ? view.dialectOptions : changed(view.dialectOptions, input);
  // The driver's error under Sequelize's ConnectionError (6: `parent`; 7: `cause`, its
  // `parent` a deprecated getter that warns), when it is ours (a typed error: TLS,
  // credentials) or a rejected login (for the retry and its `cause`).
  const unwrapped = (error: unknown): unknown => {
    const wrapped = error as { parent?: unknown; cause?: unknown } | null;
    const driver = major === 6 ? wrapped?.parent : wrapped?.cause;
    return isRdsIamError(driver) || isAuthFailure(driver, engine) ? driver : error;
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
    connect(open, given) {
      // Sequelize 7 hands the connection manager the config the hooks saw: TLS, the
      // target and the auth plugin are put back over it, so no hook can weaken them.
      const config = major === 6 ? given : { ...given, ...dialectOptions };
      // A hook may also have turned on the driver's packet output (refused in the
      // options): one packet is the token. Checked before any token exists.
      if (major === 7 && dialect !== "postgres") {
        refusePacketDebug(
          config,
          dialect === "mysql" ? "mysql2" : "mariadb",
          allowDebugOutput,
          "config.",
        );
      }
      if (dialect === "mariadb") {
        // The connector snapshots a string password: each attempt gets the token, in a
        // copy of the config that nothing keeps. Sequelize 6 reads config.password by
        // name (not enumerable: never printed); Sequelize 7 spreads the config, which
        // copies enumerable properties only.
        return withAuthRetry(auth, (token) => {
          const copy = { ...config };
          Object.defineProperty(copy, "password", { get: () => token, enumerable: major === 7 });
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

/**
 * The driver options core added to or changed in the user's (TLS, the target, mysql2's
 * auth plugin and stream): with Sequelize 7 only these are put back over each
 * connection's config, so a hook may still tune the rest (timeouts and the like).
 */
function changed(
  config: Readonly<Record<string, unknown>>,
  input: EndpointInput,
): Readonly<Record<string, unknown>> {
  const given: Readonly<Record<string, unknown>> = { ...input.dialectOptions, ssl: input.ssl };
  return Object.fromEntries(Object.entries(config).filter(([key, value]) => given[key] !== value));
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
