import { RdsIamError } from "@rds-iam/core";

/**
 * Loads an optional peer dependency when it is first needed, so that a MySQL-only
 * app needs no PostgreSQL packages and the other way round. A missing package
 * becomes an error that says what to install.
 */
export async function loadPeer<T>(
  name: string,
  load: () => Promise<unknown>,
  engine: "postgres" | "mysql",
): Promise<T> {
  try {
    return (await load()) as T;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      const needs =
        engine === "postgres" ? "@prisma/adapter-pg and pg" : "@prisma/adapter-mariadb and mariadb";
      throw new RdsIamError(
        "INVALID_OPTION",
        `engine "${engine}" needs the peer dependency ${name}, which is not installed. Install ${needs}.`,
        { option: "engine", cause: error },
      );
    }
    throw error;
  }
}
