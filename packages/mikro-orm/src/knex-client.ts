import { type IamAuth, isRdsIamError, RdsIamError } from "@rds-iam/core";
import { pauseIamAuth, withCheckoutAuthRetry } from "@rds-iam/core/driver";
import type { IamMikroOrmDriverKind } from "./mikro-orm-driver";

/** The part of MikroORM's `AbstractSqlConnection` this package wraps. */
interface SqlConnectionLike {
  createKnexClient?: unknown;
}

/** The knex client methods wrapped on each client MikroORM builds. */
interface KnexClientLike {
  acquireRawConnection?: unknown;
  destroy?: unknown;
  connectionSettings?: unknown;
}

/** A MikroORM SQL driver class, of any version's typings. */
type DriverClass = new (
  // biome-ignore lint/suspicious/noExplicitAny: mixin constructors must take any[].
  ...args: any[]
) => { connection?: unknown; convertException(error: unknown): unknown };

/**
 * A subclass of the user's MikroORM driver whose connections retry a rejected login
 * once with a fresh token and pause the token provider on `orm.close()`, and whose
 * errors of ours reach the caller as they are (MikroORM would wrap them into a
 * `DriverException` without our brand). Same name, same prototype chain: the driver
 * is still `instanceof PostgreSqlDriver`.
 *
 * Why a subclass: the only place a login can be retried is knex's
 * `acquireRawConnection` (the server closes the socket on a rejected token), and
 * MikroORM builds its knex client inside the driver's connection, with no hook.
 */
export function iamDriverClass(
  Base: DriverClass,
  kind: IamMikroOrmDriverKind,
  auth: IamAuth,
): DriverClass {
  const Iam = class extends Base {
    // biome-ignore lint/suspicious/noExplicitAny: forwards MikroORM's own arguments.
    constructor(...args: any[]) {
      super(...args);
      patchConnection(this.connection as SqlConnectionLike, kind, auth);
    }

    override convertException(error: unknown): unknown {
      if (isRdsIamError(error)) return error;
      return super.convertException(error);
    }
  };
  Object.defineProperty(Iam, "name", { value: Base.name });
  return Iam;
}

function patchConnection(
  connection: SqlConnectionLike,
  kind: IamMikroOrmDriverKind,
  auth: IamAuth,
): void {
  const create = connection?.createKnexClient;
  if (typeof create !== "function") {
    throw new RdsIamError(
      "INVALID_OPTION",
      "This MikroORM driver has no knex connection: @rds-iam/mikro-orm supports the SQL drivers of MikroORM 6 (for MikroORM 7, see the package README).",
      { option: "driver" },
    );
  }
  // Not enumerable, like the prototype method it shadows. Called again on reconnect.
  Object.defineProperty(connection, "createKnexClient", {
    configurable: true,
    writable: true,
    value: function createIamKnexClient(this: unknown, ...args: unknown[]): unknown {
      const knex = create.apply(this, args) as
        | { client?: unknown; destroy?: () => unknown }
        | undefined;
      if (kind === "mariadb") refuseUnverifyingConnector(knex);
      patchKnexClient(knex?.client, kind, auth);
      return knex;
    },
  });
}

/**
 * The mariadb connector before 3.5.1 (MikroORM 6.6's `@mikro-orm/mariadb` pins 3.4.5)
 * accepts any certificate from a server that says it is MariaDB and checks it only
 * after the login, when the token was already sent. Refused before any connection.
 */
function refuseUnverifyingConnector(
  knex: { client?: unknown; destroy?: () => unknown } | undefined,
): void {
  const version = (knex?.client as { driver?: { version?: unknown } } | undefined)?.driver?.version;
  const [major = 0, minor = 0, patch = 0] = String(version ?? "0")
    .split(".")
    .map((n) => Number.parseInt(n, 10));
  if (major > 3 || (major === 3 && (minor > 5 || (minor === 5 && patch >= 1)))) return;
  void knex?.destroy?.();
  throw new RdsIamError(
    "TLS_VERIFICATION_FAILED",
    `The mariadb connector ${String(version ?? "(unknown version)")} under MariaDbDriver accepts any certificate from a MariaDB server and checks it only after the login, so the IAM token would reach an unverified server. Make the connector 3.5.1 or later (npm/pnpm "overrides": { "@mikro-orm/mariadb>mariadb": "^3.5.4" }), or use MySqlDriver from @mikro-orm/mysql (mysql2), which works with MariaDB.`,
    { option: "driver" },
  );
}

const patched = new WeakSet<object>();

/**
 * Wraps one knex client's `acquireRawConnection` in core's checkout retry, and its
 * `destroy` (`orm.close()`) with a pause of the provider's background work (a
 * reconnected ORM resumes it).
 *
 * pg (its password function) and mysql2 (the clear-password plugin) ask the provider
 * themselves at each login. The mariadb connector takes a string, read synchronously
 * when knex creates the connection: right before, `password` of knex's connection
 * settings becomes a getter (not enumerable: `JSON.stringify` and `util.inspect` never
 * show it) for a token asked for now, so each attempt, the retry's included, logs in
 * with the current one.
 */
function patchKnexClient(client: unknown, kind: IamMikroOrmDriverKind, auth: IamAuth): void {
  if (typeof client !== "object" || client === null || patched.has(client)) return;
  const { acquireRawConnection: open, destroy } = client as KnexClientLike;
  if (typeof open !== "function" || typeof destroy !== "function") return;
  patched.add(client);
  Object.defineProperty(client, "acquireRawConnection", {
    configurable: true,
    writable: true,
    value: function acquireRawConnectionWithIamRetry(this: KnexClientLike): Promise<unknown> {
      return withCheckoutAuthRetry(auth, async () => {
        if (kind === "mariadb") {
          const token = await auth.getToken();
          const settings = this.connectionSettings;
          if (typeof settings === "object" && settings !== null) {
            Object.defineProperty(settings, "password", {
              configurable: true,
              enumerable: false,
              get: () => token,
            });
          }
        }
        return open.call(this) as Promise<unknown>;
      });
    },
  });
  Object.defineProperty(client, "destroy", {
    configurable: true,
    writable: true,
    value: function destroyAndPause(this: unknown, ...args: unknown[]): unknown {
      pauseIamAuth(auth);
      return destroy.apply(this, args);
    },
  });
}
