import { type IamAuth, type IamAuthStats, RdsIamError } from "@rds-iam/core";
import { MYSQL2_URI, PG_CONNECTION_STRING, prepareBinding } from "@rds-iam/core/driver";
import { patchKnexClient } from "./auth-retry";
import { type DriverBinding, driverBinding } from "./driver-binding";
import type {
  IamKnexConnection,
  IamKnexConnectionConfig,
  IamKnexConnectionOptions,
} from "./iam-connection-options";
import { type IamKnexDriver, knexDriver } from "./knex-driver";

const NO_STATS: IamAuthStats = Object.freeze({
  mints: 0,
  cacheHits: 0,
  credentialResolutions: 0,
  failures: 0,
  invalidations: 0,
  refreshesAhead: 0,
  writerLookups: 0,
});

/** The checker starts looking up the next token this long (clock ms) before the deadline. */
const LOOKAHEAD_MS = 30_000;
/** ... and then at most this often: never a storm on the credential source. */
const LOOKUP_INTERVAL_MS = 5_000;

/**
 * The async function knex takes as `connection`, logging every new connection in
 * with a current RDS IAM token:
 *
 * ```ts
 * const db = knex({ client: "pg", connection: iamConnection({ host, user, database }) });
 * ```
 *
 * - Clients `pg` (alias `postgres`, `postgresql`), `mysql2` and `mariadb` (knex 3.3+);
 *   the engine is inferred from the client. `mysql` and `pgnative` are refused.
 * - Each call returns a fresh config with the current token and an
 *   `expirationChecker` that turns true when that token's hand-out window ends
 *   (870 s by default, earlier for expiring credentials), so knex asks again;
 *   during a credential outage it holds back, so pooled connections keep serving.
 *   Concurrent calls share one mint.
 * - TLS is verified against the RDS CA bundle unless `ssl` says otherwise; a token
 *   never travels in plaintext unless `iamAllowPlaintext` allows it to a loopback host.
 * - A new connection whose token the database rejects is retried once with a fresh
 *   token; a second rejection fails with `AUTH_REJECTED`.
 * - knex 3.2+ also re-reads the config when validating a pooled connection after the
 *   checker fires, and replaces that one connection; before 3.2 only new connections
 *   re-read it. Either way, an open connection is unaffected: RDS checks the token
 *   only at login.
 *
 * Options are validated now, so a mistake fails at startup rather than at the first
 * query. The token provider itself starts at the first call, which tells the driver.
 *
 * @throws RdsIamError naming the option and the fix.
 */
export function iamConnection(input: IamKnexConnectionOptions): IamKnexConnection {
  // Checked and resolved once, now; the driver's view is built at the first call, when
  // knex's client tells which driver (and so which engine's default port) it is.
  const prepared = prepareBinding(input, {
    what: "iamConnection()",
    refuse: [PG_CONNECTION_STRING, MYSQL2_URI],
  });
  const engine = prepared.engine;
  const clock = prepared.clock;
  let binding: DriverBinding | undefined;
  let closed = false;

  const bind = (driver: IamKnexDriver): DriverBinding => {
    if (closed) {
      throw new RdsIamError("CLOSED", "This iamConnection() was closed; create a new one.");
    }
    if (binding === undefined) binding = driverBinding(driver, prepared);
    if (binding.driver !== driver) {
      throw new RdsIamError(
        "CONFLICTING_OPTIONS",
        `This iamConnection() already serves a knex "${binding.driver}" client and cannot also serve a "${driver}" one: create one iamConnection() per knex client type.`,
        { option: "connection" },
      );
    }
    return binding;
  };

  // Known from the first call, or now when `engine` was given (it decides the ports).
  const currentAuth = () => binding?.auth ?? (engine === undefined ? undefined : prepared.auth());

  // The newest token this function obtained, with its hand-out deadline (held in
  // this closure only, like the provider's cache holds it).
  let newest: { token: string; expiresAt: number } | undefined;
  let lastLookupAt = Number.NEGATIVE_INFINITY;

  const remember = (token: string, expiresAt: number): void => {
    newest = { token, expiresAt };
  };

  /**
   * knex 3.2+ replaces a pooled connection whose config's checker says expired, and
   * fails that acquisition if the connection function then fails. The config's token
   * is never what logs in (pg's password function, mysql2's plugin and the mariadb
   * binding ask the provider themselves), so "not expired" is always safe, and
   * "expired" is said only when a newer token that may still be handed out is in
   * hand: through a credential outage pooled connections keep serving, and only new
   * connections fail (with the credentials' error). From 30 s before the deadline the
   * checker looks the next token up in the background, at most every 5 s (which also
   * starts the provider's refresh ahead), so in steady traffic the next token is
   * ready at the deadline.
   */
  const expired = (bound: DriverBinding, token: string, expiresAt: number): boolean => {
    const now = clock();
    if (now < expiresAt - LOOKAHEAD_MS) return false;
    if (
      now >= expiresAt &&
      newest !== undefined &&
      newest.token !== token &&
      newest.expiresAt > now
    ) {
      return true;
    }
    // `now < lastLookupAt`: the clock stepped back; look up rather than wait for it.
    if (now - lastLookupAt >= LOOKUP_INTERVAL_MS || now < lastLookupAt) {
      lastLookupAt = now;
      bound.auth.getTokenWithExpiry().then(
        (next) => {
          if (newest === undefined || next.expiresAt >= newest.expiresAt) {
            remember(next.token, next.expiresAt);
          }
        },
        () => {
          // An outage: keep saying "not expired"; the next look-up tries again.
        },
      );
    }
    return false;
  };

  // knex calls this as `this.connectionConfigProvider()`: `this` is its client.
  async function iamConnectionConfig(this: unknown): Promise<IamKnexConnectionConfig> {
    const bound = bind(knexDriver(this, engine));
    patchKnexClient(this, bound);
    const { token, expiresAt } = await bound.auth.getTokenWithExpiry();
    if (newest === undefined || expiresAt >= newest.expiresAt) remember(token, expiresAt);
    // knex deletes expirationChecker from what it gets, hence a new object each call.
    return Object.assign(bound.config(token), {
      expirationChecker: () => expired(bound, token, expiresAt),
    }) as IamKnexConnectionConfig;
  }

  const connection = Object.defineProperties(iamConnectionConfig, {
    auth: { get: currentAuth },
    stats: { value: () => currentAuth()?.stats() ?? { ...NO_STATS } },
    close: {
      value: () => {
        closed = true;
        currentAuth()?.close();
      },
    },
  }) as IamKnexConnection;
  connections.add(connection);
  return connection;
}

const connections = new WeakSet<object>();

/**
 * The token provider behind a connection function made by {@link iamConnection}:
 * counters, `invalidate()`, `close()`. The same call every adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else; `MISSING_OPTION` (`engine`)
 * before the first connection when no `engine` was given (the client decides it).
 */
export function iamAuthOf(connection: IamKnexConnection): IamAuth {
  if (typeof connection !== "function" || !connections.has(connection)) {
    throw new RdsIamError("INVALID_OPTION", "This is not a connection made by iamConnection().", {
      option: "connection",
    });
  }
  const auth = connection.auth;
  if (auth === undefined) {
    throw new RdsIamError(
      "MISSING_OPTION",
      "This iamConnection() has no token provider yet: it is created at knex's first connection, when the client tells the engine. Pass engine to have it now.",
      { option: "engine" },
    );
  }
  return auth;
}
