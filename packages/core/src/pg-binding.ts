import { withCheckoutAuthRetry } from "./auth-retry";
import type { IamConnectionOptions } from "./connection-options";
import { bindingInput, splitIamOptions } from "./connection-options";
import { describeValue } from "./engine";
import { RdsIamError } from "./errors";
import { createIamAuth, type IamAuth } from "./iam-auth";
import type { OptionNames } from "./options";
import { type ResolvedTls, resolveTls } from "./tls";

/** Input for {@link pgIamConfig}: IAM options plus any node-postgres client/pool options. */
export type PgIamInput = IamConnectionOptions & {
  /** Refused: pg lets a connection string override the password function. */
  connectionString?: string | undefined;
  /** Refused: a static password would defeat IAM. */
  password?: unknown;
  [option: string]: unknown;
};

/** A node-postgres config with a token `password` function and TLS. */
export interface PgIamConfig {
  /** The host the driver connects to. */
  host: string;
  /** The port the driver connects to (default 5432). */
  port: number;
  /** The database user. */
  user: string;
  /** Called by pg once per new physical connection. */
  password: () => Promise<string>;
  /** Verified TLS against the RDS CA bundle by default; `false` only for allowed plaintext. */
  ssl: ResolvedTls;
  /** Every other pg option of the input (`database`, `max`, ...), passed through. */
  [option: string]: unknown;
}

/**
 * Builds a node-postgres `ClientConfig` / `PoolConfig` that authenticates each new
 * connection with a current token. Returns the token provider too (for stats,
 * retries and `close()`).
 *
 * @throws RdsIamError `CONFLICTING_OPTIONS` for `connectionString` (pg would send an
 * empty password instead of the token) or a static `password`.
 */
export function pgIamConfig(
  given: PgIamInput,
  names: OptionNames & { connectionString?: string } = {},
): {
  config: PgIamConfig;
  auth: IamAuth;
} {
  const input = bindingInput(given, "pgIamConfig");
  rejectPgConflicts(input, names.connectionString ?? "connectionString");
  const { iam, driver } = splitIamOptions(input);
  const { connectionString: _cs, password: _pw, ...rest } = driver as Record<string, unknown>;
  const auth = createIamAuth(
    { ...iam, engine: "postgres" } as Parameters<typeof createIamAuth>[0],
    names,
  );
  const ssl = resolveTls({
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
      password: pgPassword(auth),
      ssl,
    },
  };
}

/**
 * A pg `password` function backed by a token provider.
 *
 * pg calls it as a method of the connecting `Client`, then keeps the token in the
 * client's hidden `password` and `connectionParameters.password` fields, where
 * `util.inspect(client, { showHidden: true })` shows it for the client's whole life.
 * A client never logs in twice, so once it is logged in (its `connect` event; SCRAM
 * would read the password again before that) or has ended, both fields are reset
 * (the function back in `password`): the token lives on only in the provider's cache.
 */
export function pgPassword(auth: IamAuth): () => Promise<string> {
  const password = async function (this: unknown): Promise<string> {
    const token = await auth.getToken();
    const client = this as PgClientFields | undefined;
    if (
      typeof client === "object" &&
      client !== null &&
      "connectionParameters" in client &&
      typeof client.once === "function"
    ) {
      // Once logged in (SCRAM reads the password again mid-exchange), or given up.
      const scrub = () => scrubPassword(client, password);
      client.once("connect", scrub);
      client.once("end", scrub);
    }
    return token;
  };
  return password;
}

/** The fields where pg's `Client` keeps the password it logged in with. */
interface PgClientFields {
  password?: unknown;
  connectionParameters?: { password?: unknown } | null;
  once?: (event: string, listener: () => void) => unknown;
}

function scrubPassword(client: PgClientFields, password: () => Promise<string>): void {
  // Only replace what pg stored: a string. Anything else is not ours to touch.
  if (typeof client.password === "string") client.password = password;
  const parameters = client.connectionParameters;
  if (
    typeof parameters === "object" &&
    parameters !== null &&
    typeof parameters.password === "string"
  ) {
    parameters.password = null;
  }
}

/** Throws if a pg config carries what would override or defeat the token. */
export function rejectPgConflicts(
  input: Record<string, unknown>,
  connectionStringName = "connectionString",
): void {
  if (input.connectionString !== undefined && input.connectionString !== null) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `${connectionStringName} cannot be combined with IAM authentication: node-postgres lets the connection string override the password function and would send an empty password. Pass host, port, user and database as separate options instead.`,
      { option: connectionStringName },
    );
  }
  if (input.password !== undefined && input.password !== null) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `password cannot be combined with IAM authentication (got ${typeof input.password === "string" ? "a string" : describeValue(input.password)}): the token is the password. Remove it.`,
      { option: "password" },
    );
  }
}

/** The part of `pg.Pool` the retry wrapper needs. */
export interface PgPoolLike {
  /** `pool.connect()`, which `pool.query()` uses too. */
  connect(): Promise<unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor must take any[].
type PoolConstructor = new (...args: any[]) => PgPoolLike;

/**
 * Subclasses a `pg.Pool` class so that a new connection whose token the database
 * rejects is retried once with a fresh token. `pool.query()` goes through
 * `connect()`, so it is covered too.
 */
export function withPgAuthRetry<P extends PoolConstructor>(Pool: P, auth: IamAuth): P {
  return class IamPool extends Pool {
    // pg-pool calls connect(callback) from query(), and connect() from users.
    override connect(
      callback?: (error: unknown, client?: unknown, release?: unknown) => void,
    ): Promise<unknown> {
      const connected = withCheckoutAuthRetry(auth, () => super.connect());
      if (typeof callback !== "function") return connected;
      connected.then(
        (client) => callback(undefined, client, (client as { release?: unknown }).release),
        (error: unknown) => callback(error, undefined, () => {}),
      );
      return undefined as unknown as Promise<unknown>;
    }
  };
}
