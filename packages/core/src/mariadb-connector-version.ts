import { RdsIamError } from "./errors";

/** The first mariadb connector release that verifies a server's certificate before the login. */
export const MARIADB_VERIFYING_VERSION = "3.5.1";

/**
 * Refuses a mariadb connector older than 3.5.1. Those releases accept any certificate
 * from a server that says it is MariaDB (MariaDB 11.4's "zero-configuration TLS") and
 * check it only after the login, from the password: with IAM the password is the
 * token, so it would reach an unverified server first. Seen through the gateway with
 * 3.4.5 (which `@prisma/adapter-mariadb` 7 and `@mikro-orm/mariadb` 6.6 pin): the
 * login was accepted, then the connector refused the certificate. A module whose
 * version cannot be read is refused too.
 *
 * @throws RdsIamError `TLS_VERIFICATION_FAILED` naming `mariadb`, with the fix.
 */
export function refuseUnverifyingMariadb(mariadb: unknown): void {
  const version =
    typeof mariadb === "object" || typeof mariadb === "function"
      ? (mariadb as { version?: unknown } | null)?.version
      : undefined;
  if (typeof version === "string" && atLeast(version, MARIADB_VERIFYING_VERSION)) return;
  throw new RdsIamError(
    "TLS_VERIFICATION_FAILED",
    `Refusing to send an IAM token with the mariadb connector ${typeof version === "string" ? version : "(version unknown)"}: before ${MARIADB_VERIFYING_VERSION} it checks a MariaDB server's certificate only after the login, when the token has been sent. Install mariadb ${MARIADB_VERIFYING_VERSION} or later (where another package pins an older one: "pnpm": { "overrides": { "mariadb": "^3.5.4" } }, or npm's "overrides"), or use mysql2, which works with MariaDB.`,
    { option: "mariadb" },
  );
}

function atLeast(version: string, wanted: string): boolean {
  const parts = (text: string) =>
    text.split(/[.+-]/, 3).map((part) => Number.parseInt(part, 10) || 0);
  const have = parts(version);
  const need = parts(wanted);
  for (let index = 0; index < 3; index++) {
    const a = have[index] ?? 0;
    const b = need[index] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
