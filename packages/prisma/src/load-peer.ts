import { RdsIamError } from "@rds-iam/core";

// The optional peers, loaded when first needed, so that a MySQL-only app needs no
// PostgreSQL packages and the other way round. Each import is a literal inside a `try`
// block: bundlers include the peers that are installed, and esbuild leaves one that is
// not installed to fail at run time (outside a `try` it refuses to bundle), where the
// failure becomes an error that says what to install. tests/bundles proves both.

/** `@prisma/adapter-pg` (with pg), for `engine: "postgres"`. */
export async function importAdapterPg(): Promise<typeof import("@prisma/adapter-pg")> {
  try {
    return await import("@prisma/adapter-pg");
  } catch (error) {
    throw missingPeer(error, "@prisma/adapter-pg", "postgres");
  }
}

/** `@prisma/adapter-mariadb`, for `engine: "mysql"`. */
export async function importAdapterMariadb(): Promise<typeof import("@prisma/adapter-mariadb")> {
  try {
    return await import("@prisma/adapter-mariadb");
  } catch (error) {
    throw missingPeer(error, "@prisma/adapter-mariadb", "mysql");
  }
}

/** The mariadb connector, for `engine: "mysql"` and the MySQL migration runner. */
export async function importMariadb(): Promise<Record<string, unknown>> {
  try {
    return (await import("mariadb")) as Record<string, unknown>;
  } catch (error) {
    throw missingPeer(error, "mariadb", "mysql");
  }
}

/** A missing package becomes an error that says what to install; anything else stays. */
function missingPeer(error: unknown, name: string, engine: "postgres" | "mysql"): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return error;
  const needs =
    engine === "postgres" ? "@prisma/adapter-pg and pg" : "@prisma/adapter-mariadb and mariadb";
  return new RdsIamError(
    "INVALID_OPTION",
    `engine "${engine}" needs the peer dependency ${name}, which is not installed. Install ${needs}.`,
    { option: "engine", cause: error },
  );
}
