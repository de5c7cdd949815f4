import { rootCertificates } from "node:tls";
import { withAuthRetry } from "./auth-retry";
import { type PreparedBinding, prepareBinding } from "./binding";
import type { IamConnectionOptions } from "./connection-options";
import { refusePacketDebug } from "./debug-output";
import type { IamAuth } from "./iam-auth";
import { refuseUnverifyingMariadb } from "./mariadb-connector-version";
import type { ResolvedTls } from "./tls";

/**
 * The `version` of a {@link MariadbModuleLike} that loads the real connector on first
 * use and checks it with `refuseUnverifyingMariadb` before opening anything.
 */
export const LAZY_MARIADB: unique symbol = Symbol("rds-iam.lazyMariadb");

/** The part of the `mariadb` module the connector needs. */
export interface MariadbModuleLike<C> {
  /** Opens one connection (the connector's `mariadb.createConnection`). */
  createConnection(config: Record<string, unknown>): Promise<C>;
  /**
   * The connector's version (3.5.1 or later: older ones send the token before they
   * check the certificate), or {@link LAZY_MARIADB} for a loader that checks the
   * real module itself.
   */
  readonly version?: string | typeof LAZY_MARIADB | undefined;
}

/** Input for {@link mariadbIamConfig}: IAM options plus mariadb connection options. */
export type MariadbIamInput = IamConnectionOptions & {
  password?: unknown;
  database?: string | undefined;
  [option: string]: unknown;
};

/**
 * A mariadb connection config without a password: the input's connector options plus
 * `host`, `port`, `user` and verified TLS (`ssl`; `false` only for allowed plaintext).
 * The connector snapshots `password` as a string, so each connection gets the token
 * when it is opened: `mariadb.createConnection({ ...config, password: await
 * auth.getToken() })`, sent with `mysql_clear_password`, which the connector supports
 * natively (and 3.5+ refuses without TLS).
 */
export type MariadbIamConfig = Readonly<Record<string, unknown>>;

/**
 * Builds a mariadb connector config for IAM logins, and its token provider.
 *
 * @throws RdsIamError `CONFLICTING_OPTIONS` for a static `password` or packet debug output.
 */
export function mariadbIamConfig(given: MariadbIamInput): {
  config: MariadbIamConfig;
  auth: IamAuth;
} {
  return mariadbConfigOf(prepareBinding(given, { what: "mariadbIamConfig", engine: "mysql" }));
}

/** The mariadb view of a prepared binding; refuses the connector's packet debug output. */
export function mariadbConfigOf(binding: PreparedBinding): {
  config: MariadbIamConfig;
  auth: IamAuth;
} {
  refusePacketDebug(binding.driver, "mariadb", binding.iamAllowTokenInDebugOutput);
  const auth = binding.auth("mysql");
  const config = Object.freeze({
    ...binding.driver,
    host: auth.target.host,
    port: auth.target.port,
    user: auth.target.user,
    ssl: withExplicitCa(binding.tls),
  });
  return { config, auth };
}

/**
 * A TLS object without `ca` gets Node's own root certificates as its `ca`: the same
 * trust, said out loud. Without a `ca`, the connector (3.5) accepts any certificate
 * from a server announcing MariaDB 11.4.1+ and defers to a fingerprint check after
 * the login; it then declines to send a cleartext password (our token) itself, but
 * that leaves the token's safety to a heuristic inside the connector. With a `ca` the
 * TLS handshake refuses such a server, as with every other driver
 * (tests/security/mariadb-old-connector.test.ts replays both).
 */
function withExplicitCa(tls: ResolvedTls): ResolvedTls {
  if (tls === false || tls.ca !== undefined || tls.rejectUnauthorized === false) return tls;
  return { ...tls, ca: [...rootCertificates] };
}

/**
 * Opens mariadb connections from a mariadb view, each logged in with a current token
 * and retried once with a fresh one if the database rejects it (the connector's own
 * pool would snapshot one token). For pools of an adapter's own (Prisma's) and
 * one-shot tools.
 */
export function mariadbConnector<C>(
  mariadb: MariadbModuleLike<C>,
  view: { readonly config: MariadbIamConfig; readonly auth: IamAuth },
): () => Promise<C> {
  const { config, auth } = view;
  return () =>
    withAuthRetry(auth, (password) => {
      // Checked at each connection (not once): `mariadb` may load the connector lazily
      // (Prisma's does, and checks the real module itself; see refuseUnverifyingMariadb).
      if (mariadb.version !== LAZY_MARIADB) refuseUnverifyingMariadb(mariadb);
      return mariadb.createConnection({ ...config, password });
    });
}

/**
 * {@link mariadbIamConfig} and {@link mariadbConnector} in one call: a `connect()` that
 * opens a mariadb connection logged in with a current token, its provider and config.
 *
 * @throws RdsIamError as {@link mariadbIamConfig} does.
 */
export function createMariadbConnectionFactory<C>(
  mariadb: MariadbModuleLike<C>,
  given: MariadbIamInput,
): { connect: () => Promise<C>; auth: IamAuth; config: MariadbIamConfig } {
  const view = mariadbIamConfig(given);
  if (mariadb.version !== LAZY_MARIADB) {
    try {
      refuseUnverifyingMariadb(mariadb);
    } catch (error) {
      view.auth.close();
      throw error;
    }
  }
  return { ...view, connect: mariadbConnector(mariadb, view) };
}
