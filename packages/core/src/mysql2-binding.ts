import { withCheckoutAuthRetry } from "./auth-retry";
import { type IamConnectionOptions, splitIamOptions } from "./connection-options";
import { isRdsIamError, RdsIamError } from "./errors";
import { createIamAuth, type IamAuth } from "./iam-auth";
import type { OptionNames } from "./options";
import { resolveTls } from "./tls";

/**
 * mysql2 overwrites `code` with `AUTH_SWITCH_PLUGIN_ERROR` on whatever an auth plugin
 * throws. The plugin remembers the codes of the errors it threw, so that
 * {@link withMysql2AuthRetry} can hand the caller the real one
 * (`CREDENTIALS_UNAVAILABLE`, `PLAINTEXT_REFUSED`, ...).
 */
const PLUGIN_ERROR_CODES = new WeakMap<RdsIamError, RdsIamError["code"]>();

function restorePluginErrorCode(error: unknown): unknown {
  if (isRdsIamError(error)) {
    const code = PLUGIN_ERROR_CODES.get(error);
    if (code !== undefined) (error as { code: string }).code = code;
  }
  return error;
}

/** What mysql2 hands an auth plugin factory. */
interface Mysql2PluginContext {
  connection: { stream?: { encrypted?: boolean } };
}

/** mysql2's `authPlugins` entry: a factory returning the per-switch responder. */
export type Mysql2AuthPlugin = (
  context: Mysql2PluginContext,
) => (pluginData: Buffer) => Promise<string>;

/**
 * `authPlugins` for mysql2: `mysql_clear_password` answers with a current token
 * plus the NUL terminator the protocol needs. mysql2 sends cleartext even without
 * TLS, so the plugin checks the socket itself and refuses unless plaintext was
 * explicitly allowed. Works with mysql2 3.15+ whatever its cleartext default.
 */
export function mysql2AuthPlugins(
  auth: IamAuth,
  options: { iamAllowPlaintext?: boolean | undefined } = {},
): { mysql_clear_password: Mysql2AuthPlugin } {
  return {
    mysql_clear_password: ({ connection }) => {
      return async () => {
        try {
          if (connection.stream?.encrypted !== true && options.iamAllowPlaintext !== true) {
            throw new RdsIamError(
              "PLAINTEXT_REFUSED",
              `Refusing to send an IAM token to ${auth.target.host} over a connection without TLS. Configure ssl (the default is verified TLS), or set iamAllowPlaintext for a local test gateway.`,
              { option: "ssl" },
            );
          }
          return `${await auth.getToken()}\0`;
        } catch (error) {
          if (isRdsIamError(error)) PLUGIN_ERROR_CODES.set(error, error.code);
          throw error;
        }
      };
    },
  };
}

/** Input for {@link mysql2IamConfig}: IAM options plus any mysql2 connection/pool options. */
export type Mysql2IamInput = IamConnectionOptions & {
  password?: unknown;
  [option: string]: unknown;
};

/**
 * Builds a mysql2 connection / pool config: verified TLS, and the clear-password
 * plugin that sends a current token on every new connection.
 */
export function mysql2IamConfig(
  input: Mysql2IamInput,
  names: OptionNames = {},
): { config: Record<string, unknown>; auth: IamAuth } {
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
  const { password: _pw, authPlugins, ...rest } = driver as Record<string, unknown>;
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
  return {
    auth,
    config: {
      ...rest,
      host: auth.target.host,
      port: auth.target.port,
      user: auth.target.user,
      ...(tls === false ? {} : { ssl: mysql2Ssl(tls, auth.target.host === auth.target.iamHost) }),
      authPlugins: {
        ...(typeof authPlugins === "object" && authPlugins !== null ? authPlugins : {}),
        ...mysql2AuthPlugins(auth, { iamAllowPlaintext: input.iamAllowPlaintext }),
      },
    },
  };
}

// mysql2 checks the certificate's name only with `verifyIdentity`, and only against
// the host it dialled. Through a tunnel that name is not the endpoint's, so there
// the chain is verified but not the name.
function mysql2Ssl(tls: object, dialsEndpoint: boolean): Record<string, unknown> {
  const ssl: Record<string, unknown> = { ...tls };
  if (!("verifyIdentity" in ssl) && ssl.rejectUnauthorized !== false)
    ssl.verifyIdentity = dialsEndpoint;
  return ssl;
}

/** The part of a mysql2 (callback) pool the retry wrapper needs. */
export interface Mysql2PoolLike {
  /** mysql2's callback-style `pool.getConnection`, which `query()` and `execute()` use. */
  getConnection(callback: (error: unknown, connection?: unknown) => void): void;
}

/**
 * Makes a mysql2 pool retry, once and with a fresh token, a new connection whose
 * token was rejected. `pool.query()` / `execute()` go through `getConnection`.
 */
export function withMysql2AuthRetry<P extends Mysql2PoolLike>(pool: P, auth: IamAuth): P {
  const original = pool.getConnection.bind(pool);
  const getOnce = () =>
    new Promise<unknown>((resolve, reject) => {
      original((error, connection) =>
        error ? reject(restorePluginErrorCode(error)) : resolve(connection),
      );
    });
  pool.getConnection = (callback) => {
    withCheckoutAuthRetry(auth, getOnce).then(
      (connection) => callback(null, connection),
      (error: unknown) => callback(error),
    );
  };
  return pool;
}
