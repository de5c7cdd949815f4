import type { Engine } from "./engine";

interface DriverErrorShape {
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  message?: unknown;
  cause?: unknown;
}

/**
 * True when the database rejected the login itself, which for IAM means the token
 * (expired, signed for the wrong endpoint, or by revoked credentials):
 * - PostgreSQL: SQLSTATE 28000 / 28P01, e.g. `PAM authentication failed for user`;
 * - MySQL / MariaDB: errno 1045 (`ER_ACCESS_DENIED_ERROR`, SQLSTATE 28000).
 *
 * A PostgreSQL `no pg_hba.conf entry` (also 28000) is a TLS or network rule, not a
 * token problem, so it is not an auth failure: a fresh token would not help.
 * Wrapped errors are followed through `cause`.
 */
export function isAuthFailure(error: unknown, engine: Engine): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const candidate = current as DriverErrorShape;
    if (engine === "postgres" ? isPostgresAuthFailure(candidate) : isMysqlAuthFailure(candidate)) {
      return true;
    }
    current = candidate.cause;
  }
  return false;
}

function isPostgresAuthFailure(error: DriverErrorShape): boolean {
  const message = typeof error.message === "string" ? error.message : "";
  if (message.includes("pg_hba.conf")) return false;
  return (
    error.code === "28000" ||
    error.code === "28P01" ||
    message.includes("PAM authentication failed") ||
    message.includes("password authentication failed")
  );
}

function isMysqlAuthFailure(error: DriverErrorShape): boolean {
  return (
    error.errno === 1045 ||
    error.code === "ER_ACCESS_DENIED_ERROR" ||
    (error.sqlState === "28000" &&
      typeof error.message === "string" &&
      error.message.includes("Access denied"))
  );
}
