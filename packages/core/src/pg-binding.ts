import { PG_CONNECTION_STRING, type PreparedBinding, prepareBinding } from "./binding";
import type { IamConnectionOptions } from "./connection-options";
import type { IamAuth } from "./iam-auth";
import type { ResolvedTls } from "./tls";

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
export function pgIamConfig(given: PgIamInput): { config: PgIamConfig; auth: IamAuth } {
  return pgConfigOf(
    prepareBinding(given, {
      what: "pgIamConfig",
      engine: "postgres",
      refuse: [PG_CONNECTION_STRING],
    }),
  );
}

/** The pg view of a prepared binding: its driver options plus target, password function and TLS. */
export function pgConfigOf(binding: PreparedBinding): { config: PgIamConfig; auth: IamAuth } {
  const auth = binding.auth("postgres");
  return {
    auth,
    config: {
      ...binding.driver,
      host: auth.target.host,
      port: auth.target.port,
      user: auth.target.user,
      password: pgPassword(auth),
      ssl: binding.tls,
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
