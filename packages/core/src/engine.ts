import { RdsIamError } from "./errors";

/** The database engine family: decides the default port and the wire protocol. */
export type Engine = "postgres" | "mysql";

const DEFAULT_PORTS: Readonly<Record<Engine, number>> = { postgres: 5432, mysql: 3306 };

/** The port RDS uses for an engine when none is given: 5432 or 3306. */
export function defaultPort(engine: Engine): number {
  return DEFAULT_PORTS[engine];
}

// MariaDB and Aurora MySQL speak the MySQL protocol; aliases are what users type.
const ENGINE_ALIASES: Readonly<Record<string, Engine>> = {
  postgres: "postgres",
  postgresql: "postgres",
  pg: "postgres",
  "aurora-postgresql": "postgres",
  mysql: "mysql",
  mysql2: "mysql",
  mariadb: "mysql",
  "aurora-mysql": "mysql",
};

/**
 * Reads an engine name (`postgres`, `postgresql`, `mysql`, `mariadb`, ...).
 * @throws RdsIamError `INVALID_OPTION` naming `engine`.
 */
export function parseEngine(value: unknown, option = "engine"): Engine {
  // Own keys only: "__proto__" or "constructor" must not find Object.prototype's.
  const key = typeof value === "string" ? value.toLowerCase() : undefined;
  const engine =
    key !== undefined && Object.hasOwn(ENGINE_ALIASES, key) ? ENGINE_ALIASES[key] : undefined;
  if (engine === undefined) {
    throw new RdsIamError(
      typeof value === "undefined" ? "MISSING_OPTION" : "INVALID_OPTION",
      `${option} must be "postgres" or "mysql" (got ${describeValue(value)}).`,
      { option },
    );
  }
  return engine;
}

/** A short, safe description of a user value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null)
    return String(value);
  if (value === undefined) return "nothing";
  try {
    if (Array.isArray(value)) return "an array";
  } catch {
    return "a revoked Proxy";
  }
  return `a ${typeof value}`;
}
