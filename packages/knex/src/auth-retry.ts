import { withAuthRetry } from "@rds-iam/core";
import type { DriverBinding } from "./driver-binding";

/** The knex client method that opens one physical connection for the pool. */
interface KnexClientLike {
  acquireRawConnection?: unknown;
}

const retrying = new WeakSet<object>();

/**
 * Makes a knex client retry, once and with a fresh token, a new connection whose
 * token the database rejected, so the query that needed it still succeeds.
 *
 * Why here: a rejected login surfaces in the client's `acquireRawConnection`, which
 * knex's pool calls right after the connection function; pg and mysql2 cannot
 * retry inside their own handshake (the server closes the socket), and knex offers
 * no hook around it. The connection function is called with `this` = the client,
 * before its first connection, so it wraps that one client instance's method: no
 * knex internals change, other clients are untouched, and `client: "pg"` keeps
 * meaning knex's own client.
 */
export function retryRejectedLogins(client: unknown, binding: DriverBinding): void {
  if (typeof client !== "object" || client === null || retrying.has(client)) return;
  const open = (client as KnexClientLike).acquireRawConnection;
  if (typeof open !== "function") return;
  retrying.add(client);
  Object.defineProperty(client, "acquireRawConnection", {
    configurable: true,
    writable: true,
    // Not enumerable, like the prototype method it shadows.
    enumerable: false,
    value: function acquireRawConnectionWithIamRetry(this: unknown): Promise<unknown> {
      return withAuthRetry(binding.auth, (token) =>
        binding.attempt(token, () => open.call(this) as Promise<unknown>),
      );
    },
  });
}
