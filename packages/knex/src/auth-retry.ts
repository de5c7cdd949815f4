import {
  pauseIamAuth,
  refuseUnverifyingMariadb,
  withCheckoutAuthRetry,
} from "@rds-iam/core/driver";
import type { DriverBinding } from "./driver-binding";

/** The knex client methods this package wraps on the one client that calls it. */
interface KnexClientLike {
  acquireRawConnection?: unknown;
  destroy?: unknown;
  /** The driver module knex loaded (`require("mariadb")` for the mariadb client). */
  driver?: unknown;
}

const patched = new WeakSet<object>();

/**
 * Makes a knex client retry, once and with a fresh token, a new connection whose
 * token the database rejected (so the query that needed it still succeeds), and pause
 * the token provider's background work when the client is destroyed (`knex.destroy()`;
 * a re-initialized knex resumes it).
 *
 * Why here: a rejected login surfaces in the client's `acquireRawConnection`, which
 * knex's pool calls right after the connection function; pg and mysql2 cannot
 * retry inside their own handshake (the server closes the socket), and knex offers
 * no hook around it. The connection function is called with `this` = the client,
 * before its first connection, so it wraps that one client instance's methods: no
 * knex internals change, other clients are untouched, and `client: "pg"` keeps
 * meaning knex's own client. The retry is core's checkout retry, as for every pool:
 * the login asks the provider itself (pg's password function, mysql2's plugin, the
 * mariadb binding), so provider errors keep their code.
 */
export function patchKnexClient(client: unknown, binding: DriverBinding): void {
  if (typeof client !== "object" || client === null || patched.has(client)) return;
  const { acquireRawConnection: open, destroy } = client as KnexClientLike;
  if (typeof open !== "function") return;
  patched.add(client);
  // Not enumerable, like the prototype methods they shadow.
  Object.defineProperty(client, "acquireRawConnection", {
    configurable: true,
    writable: true,
    enumerable: false,
    value: async function acquireRawConnectionWithIamRetry(this: unknown): Promise<unknown> {
      // A mariadb connector before 3.5.1 would send the token before it checks the
      // certificate: refused before each connection (the module knex loaded decides).
      if (binding.driver === "mariadb") refuseUnverifyingMariadb((this as KnexClientLike).driver);
      return withCheckoutAuthRetry(binding.auth, () =>
        binding.open(() => open.call(this) as Promise<unknown>),
      );
    },
  });
  if (typeof destroy !== "function") return;
  Object.defineProperty(client, "destroy", {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function destroyAndPause(this: unknown, ...args: unknown[]): unknown {
      pauseIamAuth(binding.auth);
      return destroy.apply(this, args);
    },
  });
}
