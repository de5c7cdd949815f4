import { withAuthRetry } from "./auth-retry";
import { bindingInput, type IamConnectionOptions, splitIamOptions } from "./connection-options";
import { refusePacketDebug } from "./debug-output";
import { RdsIamError } from "./errors";
import { createIamAuth, type IamAuth } from "./iam-auth";
import type { OptionNames } from "./options";
import { resolveTls } from "./tls";

/** The part of the `mariadb` module the factory needs. */
export interface MariadbModuleLike<C> {
  /** Opens one connection (the connector's `mariadb.createConnection`). */
  createConnection(config: Record<string, unknown>): Promise<C>;
}

/** Input for {@link createMariadbConnectionFactory}: IAM options plus mariadb connection options. */
export type MariadbIamInput = IamConnectionOptions & {
  password?: unknown;
  database?: string | undefined;
  [option: string]: unknown;
};

/**
 * The mariadb connector snapshots `password` as a string, so a pool of its own
 * cannot rotate tokens. This factory opens each connection with a current token
 * (sent with `mysql_clear_password`, over verified TLS), retrying once with a fresh
 * token if the database rejects it.
 */
export function createMariadbConnectionFactory<C>(
  mariadb: MariadbModuleLike<C>,
  given: MariadbIamInput,
  names: OptionNames = {},
): { connect: () => Promise<C>; auth: IamAuth; config: Readonly<Record<string, unknown>> } {
  const input = bindingInput(given, "createMariadbConnectionFactory");
  if (input.password !== undefined && input.password !== null) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      "password cannot be combined with IAM authentication: the token is the password. Remove it.",
      {
        option: "password",
      },
    );
  }
  const { iam, driver } = splitIamOptions(input);
  refusePacketDebug(driver, "mariadb", input.iamAllowTokenInDebugOutput);
  const { password: _pw, ...rest } = driver as Record<string, unknown>;
  const auth = createIamAuth(
    { ...iam, engine: "mysql" } as Parameters<typeof createIamAuth>[0],
    names,
  );
  const tls = resolveTls({
    host: auth.target.host,
    iamHost: auth.target.iamHost,
    ssl: input.ssl,
    iamAllowPlaintext: input.iamAllowPlaintext,
  });
  const config = Object.freeze({
    ...rest,
    host: auth.target.host,
    port: auth.target.port,
    user: auth.target.user,
    // RDS asks for the token through mysql_clear_password, which the connector
    // supports natively (and 3.5+ refuses without TLS).
    ssl: tls === false ? false : tls,
  });
  const connect = () =>
    withAuthRetry(auth, (password) => mariadb.createConnection({ ...config, password }));
  return { connect, auth, config };
}
