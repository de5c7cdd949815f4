import { type IamAuth, type IamConnectionOptions, RdsIamError } from "@rds-iam/core";
import { pauseWhenEnded, prepareBinding, type RefusedOption } from "@rds-iam/core/driver";
import postgres from "postgres";
import { IamLoginSocket } from "./iam-login-socket";

/** postgres.js options that would replace the token, its target or its TLS. */
const REFUSED: readonly RefusedOption[] = [
  { key: "pass", why: "the token is the password. Remove it." },
  {
    key: "socket",
    why: "rds-iam provides the socket: it negotiates verified TLS and sends the token itself. Remove it.",
  },
  {
    key: "path",
    why: "a Unix socket is not the RDS endpoint the token is signed for, and carries no TLS. Pass host and port instead.",
  },
  {
    key: "sslnegotiation",
    why: "rds-iam negotiates TLS itself (the standard SSLRequest, which RDS accepts). Remove it.",
  },
  { key: "hostname", why: "spell it host (the option rds-iam reads)." },
  { key: "username", why: "spell it user (the option rds-iam reads)." },
];

/**
 * Options for {@link createIamSql}: the IAM and TLS options of `@rds-iam/core` plus any
 * postgres.js option (`database`, `max`, `idle_timeout`, `max_lifetime`, `transform`,
 * ...). Refused: `password` / `pass` (the token is the password), `socket`, `path`,
 * `sslnegotiation`, `connection.user` (the token is signed for `user`), and the aliases
 * `hostname` / `username` (spell them `host` / `user`).
 */
// biome-ignore lint/complexity/noBannedTypes: postgres.js's own default for its custom types.
export type IamPostgresSqlOptions<T extends Record<string, postgres.PostgresType> = {}> =
  IamConnectionOptions &
    Omit<
      postgres.Options<T>,
      "host" | "port" | "user" | "pass" | "password" | "ssl" | "path" | "hostname" | "username"
    > & {
      /** Refused: the token is the password. */
      password?: never;
      /** Refused: the token is the password. */
      pass?: never;
      /** Refused: not the RDS endpoint, and no TLS. */
      path?: never;
    };

const sqls = new WeakMap<object, IamAuth>();

/**
 * A postgres.js `sql` whose every new connection logs in with a current RDS IAM token,
 * over TLS verified against the RDS CA bundle (the certificate must name `iamHost`),
 * retrying a rejected login once with a fresh token on a new connection. Use it as is,
 * or hand it to Drizzle (`drizzle({ client: sql })` from `drizzle-orm/postgres-js`).
 * `sql.end()` also stops the token provider's background refreshes.
 *
 * Connection lifetime: RDS checks the token only at login, so a connection outlives
 * its 15-minute token; postgres.js's `max_lifetime` (default 30 to 60 minutes) and
 * `idle_timeout` need no change for IAM.
 *
 * @throws RdsIamError naming the option at fault; nothing connects yet.
 */
// biome-ignore lint/complexity/noBannedTypes: postgres.js's own default for its custom types.
export function createIamSql<T extends Record<string, postgres.PostgresType> = {}>(
  options: IamPostgresSqlOptions<T>,
): ReturnType<typeof postgres<T>> {
  const binding = prepareBinding(options, {
    what: "createIamSql",
    engine: "postgres",
    refuse: REFUSED,
  });
  refuseStartupUser(binding.driver);
  const auth = binding.auth("postgres");
  const target = { auth, tls: binding.tls };
  const sql = postgres<T>({
    ...(binding.driver as postgres.Options<T>),
    host: auth.target.host,
    port: auth.target.port,
    user: auth.target.user,
    // The socket answers the password request itself; postgres.js is never asked.
    // A function, so that postgres.js does not fall back to PGPASSWORD.
    pass: noPassword,
    // TLS happens inside the socket: postgres.js must not ask again (nor read PGSSLMODE).
    ssl: false,
    socket: () => new IamLoginSocket(target),
  } as postgres.Options<T>);
  pauseWhenEnded(sql, auth);
  sqls.set(sql, auth);
  return sql;
}

/**
 * postgres.js puts `connection`'s entries into the startup message after `user`, so a
 * `connection.user` would log in as another user with the token signed for `user`
 * (a rejection, blamed on the wrong user).
 */
function refuseStartupUser(driver: Readonly<Record<string, unknown>>): void {
  const connection = driver.connection;
  if (typeof connection !== "object" || connection === null) return;
  const user = (connection as Record<string, unknown>).user;
  if (user === undefined || user === null) return;
  throw new RdsIamError(
    "CONFLICTING_OPTIONS",
    "connection.user cannot be combined with IAM authentication: the token is signed for user, and postgres.js would log in as connection.user with it. Set user instead.",
    { option: "connection.user" },
  );
}

function noPassword(): string {
  return "";
}

/**
 * The token provider behind an `sql` made by {@link createIamSql}: counters,
 * `invalidate()`, `close()`. The same call every adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(sql: object): IamAuth {
  const auth = sqls.get(sql);
  if (auth === undefined) {
    throw new RdsIamError("INVALID_OPTION", "This sql was not made by createIamSql().", {
      option: "sql",
    });
  }
  return auth;
}
