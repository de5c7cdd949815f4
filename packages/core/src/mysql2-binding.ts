import { connect as netConnect, type Socket } from "node:net";
import { withCheckoutAuthRetry } from "./auth-retry";
import { bindingInput, type IamConnectionOptions, splitIamOptions } from "./connection-options";
import { refusePacketDebug } from "./debug-output";
import { isRdsIamError, RdsIamError } from "./errors";
import { createIamAuth, type IamAuth } from "./iam-auth";
import { type Mysql2ConnectionLike, verifyMysql2Peer } from "./mysql2-peer";
import type { OptionNames } from "./options";
import { resolveTls } from "./tls";

/**
 * mysql2 sets `code = "AUTH_SWITCH_PLUGIN_ERROR"` on whatever an auth plugin throws.
 * Our errors keep their own code (`TLS_VERIFICATION_FAILED`, `CREDENTIALS_UNAVAILABLE`,
 * ...) on every path, pooled or not and whichever copy of this package threw them:
 * `code` becomes an accessor whose setter ignores the write (a read-only property
 * would make mysql2's strict-mode assignment throw inside its error handler).
 */
function pinCode(error: RdsIamError): void {
  const code = error.code;
  Object.defineProperty(error, "code", {
    configurable: true,
    enumerable: true,
    get: () => code,
    set: () => {},
  });
}

/** What mysql2 hands an auth plugin factory. */
interface Mysql2PluginContext {
  connection: Mysql2ConnectionLike;
}

/** What the plugin checks before it answers. */
export interface Mysql2AuthPluginOptions {
  /** Let the token travel without TLS (the caller checked the host is loopback). */
  iamAllowPlaintext?: boolean | undefined;
}

/** mysql2's `authPlugins` entry: a factory returning the per-switch responder. */
export type Mysql2AuthPlugin = (
  context: Mysql2PluginContext,
) => (pluginData: Buffer) => Promise<string>;

/**
 * `authPlugins` for mysql2: `mysql_clear_password` answers with a current token
 * plus the NUL terminator the protocol needs. Works with mysql2 3.15+ whatever its
 * cleartext default.
 *
 * mysql2 sends cleartext even without TLS, and checks a certificate's name only with
 * `verifyIdentity`, against the host it dials. So before answering, the plugin checks
 * the connection itself (see `verifyMysql2Peer`): TLS is on (unless plaintext was
 * explicitly allowed), the chain was verified, and the certificate names `iamHost`.
 * Otherwise it fails with `PLAINTEXT_REFUSED` / `TLS_VERIFICATION_FAILED` and the
 * token stays here.
 */
export function mysql2AuthPlugins(
  auth: IamAuth,
  options: Mysql2AuthPluginOptions = {},
): { mysql_clear_password: Mysql2AuthPlugin } {
  return {
    mysql_clear_password: ({ connection }) => {
      return async () => {
        try {
          if (connection.stream?.encrypted !== true) {
            if (options.iamAllowPlaintext !== true) {
              throw new RdsIamError(
                "PLAINTEXT_REFUSED",
                `Refusing to send an IAM token to ${auth.target.host} over a connection without TLS. Configure ssl (the default is verified TLS), or set iamAllowPlaintext for a local test gateway.`,
                { option: "ssl" },
              );
            }
          } else {
            verifyMysql2Peer(connection, auth.target.iamHost);
          }
          return `${await auth.getToken()}\0`;
        } catch (error) {
          if (isRdsIamError(error)) pinCode(error);
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
  given: Mysql2IamInput,
  names: OptionNames = {},
): { config: Record<string, unknown>; auth: IamAuth } {
  const input = bindingInput(given, "mysql2IamConfig");
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
  refusePacketDebug(driver, "mysql2", input.iamAllowTokenInDebugOutput);
  refuseUncheckableTls(input.ssl);
  if (input.uri !== undefined && input.uri !== null) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      "uri cannot be combined with IAM authentication: mysql2 copies the URL's host, user, password and any parameter (debug, ssl, ...) over the options. Pass host, port, user and database as separate options instead.",
      { option: "uri" },
    );
  }
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
  const { host, port, iamHost } = auth.target;
  // mysql2 checks a certificate's name only against its `host` option (also the SNI
  // name and its TLS session cache key). So `host` is the endpoint, and when the
  // connection goes elsewhere (a tunnel, an IP, a custom domain) a stream factory
  // dials there: mysql2 then verifies the endpoint's name itself, and caches and
  // resumes only sessions whose certificate named it.
  const dialsElsewhere =
    tls !== false && host !== iamHost && rest.stream === undefined && rest.socketPath === undefined;
  return {
    auth,
    config: {
      ...rest,
      host: tls === false ? host : iamHost,
      port,
      user: auth.target.user,
      ...(dialsElsewhere ? { stream: dialer(host, port) } : {}),
      ...(tls === false ? {} : { ssl: mysql2Ssl(tls) }),
      authPlugins: {
        ...(typeof authPlugins === "object" && authPlugins !== null ? authPlugins : {}),
        ...mysql2AuthPlugins(auth, { iamAllowPlaintext: input.iamAllowPlaintext }),
      },
    },
  };
}

function mysql2Ssl(tls: object): Record<string, unknown> {
  const ssl: Record<string, unknown> = { ...tls };
  // Ours, for pg and mariadb; mysql2 never calls it (verifyIdentity does the check).
  delete ssl.checkServerIdentity;
  if (ssl.rejectUnauthorized !== false) {
    ssl.rejectUnauthorized = true;
    ssl.verifyIdentity = true;
  }
  return ssl;
}

/** A mysql2 `stream` factory that connects to where the driver should really go. */
function dialer(host: string, port: number): (options: unknown) => Socket {
  return (options) => {
    const socket = netConnect({ host, port });
    // What mysql2 does for the sockets it opens itself.
    socket.setNoDelay(true);
    const config = (
      options as
        | { config?: { enableKeepAlive?: unknown; keepAliveInitialDelay?: unknown } }
        | undefined
    )?.config;
    if (config?.enableKeepAlive !== false) {
      const delay =
        typeof config?.keepAliveInitialDelay === "number" ? config.keepAliveInitialDelay : 0;
      socket.once("connect", () => socket.setKeepAlive(true, delay));
    }
    return socket;
  };
}

/**
 * TLS settings mysql2 cannot honour on this path, refused rather than ignored: a
 * `checkServerIdentity` of the user's own (mysql2 never calls it) and
 * `verifyIdentity: false` with verification on (the name check is not optional).
 */
function refuseUncheckableTls(ssl: unknown): void {
  if (typeof ssl !== "object" || ssl === null) return;
  const given = ssl as {
    checkServerIdentity?: unknown;
    verifyIdentity?: unknown;
    rejectUnauthorized?: unknown;
  };
  if (given.rejectUnauthorized === false) return;
  if (given.checkServerIdentity !== undefined) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      "ssl.checkServerIdentity cannot be used with mysql2: mysql2 never calls it. rds-iam checks that the certificate names iamHost; set iamHost to the name your certificate carries instead.",
      { option: "ssl.checkServerIdentity" },
    );
  }
  if (given.verifyIdentity === false) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      "ssl.verifyIdentity: false would let mysql2 send the token to a server whose certificate names another host. Remove it (the certificate must name iamHost), or set iamHost to the name your certificate carries.",
      { option: "ssl.verifyIdentity" },
    );
  }
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
      original((error, connection) => (error ? reject(error) : resolve(connection)));
    });
  pool.getConnection = (callback) => {
    withCheckoutAuthRetry(auth, getOnce).then(
      (connection) => callback(null, connection),
      (error: unknown) => callback(error),
    );
  };
  return pool;
}
