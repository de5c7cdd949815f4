import type { Engine } from "./engine";

/** Which consumer a URL is written for. */
export type DatabaseUrlFlavor = "prisma" | "node-postgres" | "mysql2";

/** What goes into a database URL. The token is the password. */
export interface DatabaseUrlParams {
  readonly engine: Engine;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly token: string;
  readonly database?: string | undefined;
  readonly flavor: DatabaseUrlFlavor;
  /** Prisma's engine verifies certificates only against a CA file (`sslcert`). */
  readonly caFile?: string | undefined;
  /** Extra query parameters, appended as given. */
  readonly params?: Readonly<Record<string, string>> | undefined;
}

/**
 * Builds a connection URL carrying a token. Every component is encoded with
 * `encodeURIComponent`; the WHATWG `URL.password` setter leaves `&` and `%` raw
 * and would break the signature.
 */
export function buildDatabaseUrl(params: DatabaseUrlParams): string {
  const scheme = params.engine === "postgres" ? "postgresql" : "mysql";
  const auth = `${encodeURIComponent(params.user)}:${encodeURIComponent(params.token)}`;
  const database = params.database === undefined ? "" : encodeURIComponent(params.database);
  const query = new URLSearchParams(params.params ?? {}).toString();
  return `${scheme}://${auth}@${params.host}:${params.port}/${database}${query ? `?${query}` : ""}`;
}
