import { type Engine, RdsIamError } from "@rds-iam/core";

/** The knex drivers that can carry an IAM token. */
export type IamKnexDriver = "pg" | "mysql2" | "mariadb";

/** The engine family each driver speaks. */
export const DRIVER_ENGINE: Readonly<Record<IamKnexDriver, Engine>> = {
  pg: "postgres",
  mysql2: "mysql",
  mariadb: "mysql",
};

// Knex clients that reach an RDS engine but cannot carry a token safely. Keyed by
// knex's `driverName`, which aliases (`postgres`, `postgresql`) and user subclasses share.
const REFUSED: Readonly<Record<string, string>> = {
  mysql:
    'The knex client "mysql" uses the mysql driver, which cannot answer the mysql_clear_password request RDS sends for IAM logins. Use client "mysql2" (or "mariadb", knex 3.3+); the queries stay the same.',
  pgnative:
    'The knex client "pgnative" uses pg-native (libpq), which takes neither a password function nor an in-memory CA, so it can neither rotate tokens nor verify the RDS certificate. Use client "pg".',
};

/** The part of a knex client this package reads: which driver it loads. */
interface KnexClientShape {
  readonly driverName?: unknown;
}

/**
 * The driver a knex client uses, from the client that calls the connection
 * function (knex calls it with `this` = its client). Outside knex, the default
 * driver of `engine`: pg or mysql2.
 *
 * @throws RdsIamError for a client that cannot carry a token, for an `engine` that
 * contradicts the client, or when neither tells the engine.
 */
export function knexDriver(client: unknown, engine: Engine | undefined): IamKnexDriver {
  const name =
    typeof client === "object" && client !== null
      ? (client as KnexClientShape).driverName
      : undefined;
  if (typeof name !== "string") {
    if (engine === undefined) {
      throw new RdsIamError(
        "MISSING_OPTION",
        'engine is required when the connection function is not called by a knex client: set engine to "postgres" or "mysql".',
        { option: "engine" },
      );
    }
    return engine === "postgres" ? "pg" : "mysql2";
  }
  const refusal = REFUSED[name];
  if (refusal !== undefined) throw new RdsIamError("INVALID_OPTION", refusal, { option: "client" });
  if (!isIamDriver(name)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `The knex client for ${JSON.stringify(name)} cannot log in with an IAM token: IAM authentication works with the clients "pg" (alias "postgres", "postgresql"), "mysql2" and "mariadb".`,
      { option: "client" },
    );
  }
  if (engine !== undefined && DRIVER_ENGINE[name] !== engine) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `engine ${JSON.stringify(engine)} contradicts the knex client ${JSON.stringify(name)} (${DRIVER_ENGINE[name]}). Remove engine: it is inferred from the client.`,
      { option: "engine" },
    );
  }
  return name;
}

function isIamDriver(name: string): name is IamKnexDriver {
  return Object.hasOwn(DRIVER_ENGINE, name);
}
