import { connect as netConnect, type Socket } from "node:net";
import { MYSQL2_URI, type PreparedBinding, prepareBinding } from "./binding";
import type { IamConnectionOptions } from "./connection-options";
import { refusePacketDebug } from "./debug-output";
import { isRdsIamError, RdsIamError } from "./errors";
import type { IamAuth } from "./iam-auth";
import { type Mysql2ConnectionLike, verifyMysql2Peer } from "./mysql2-peer";

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
 *
 * @throws RdsIamError `CONFLICTING_OPTIONS` for a static `password`, a `uri`, packet
 * debug output, or TLS settings mysql2 would not honour.
 */
export function mysql2IamConfig(given: Mysql2IamInput): { config: Mysql2IamConfig; auth: IamAuth } {
  return mysql2ConfigOf(
    prepareBinding(given, { what: "mysql2IamConfig", engine: "mysql", refuse: [MYSQL2_URI] }),
  );
}

/**
 * A mysql2 connection / pool config: the input's mysql2 options plus `host` (the RDS
 * endpoint, whose name mysql2 checks against the certificate; the loopback host
 * without TLS), `port`, `user`, `ssl` (verified, `verifyIdentity`; absent only for
 * allowed plaintext), a `stream` dialling the real host when it is not the endpoint (a
 * tunnel, an IP, a custom domain), and `authPlugins` with `mysql_clear_password`
 * answering with a current token. Loosely typed so that it fits mysql2's own
 * `PoolOptions` whichever mysql2 version is installed.
 */
export type Mysql2IamConfig = Record<string, unknown>;

/**
 * The mysql2 view of a prepared binding. Refuses what mysql2 would use to leak or
 * misdirect the token: packet `debug` output, and TLS settings it never honours.
 */
export function mysql2ConfigOf(binding: PreparedBinding): {
  config: Mysql2IamConfig;
  auth: IamAuth;
} {
  refusePacketDebug(binding.driver, "mysql2", binding.iamAllowTokenInDebugOutput);
  refuseUncheckableTls(binding.ssl);
  const { authPlugins, ...rest } = binding.driver;
  const auth = binding.auth("mysql");
  const tls = binding.tls;
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
        ...mysql2AuthPlugins(auth, { iamAllowPlaintext: binding.iamAllowPlaintext }),
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
