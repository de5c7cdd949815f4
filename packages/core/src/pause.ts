import { type IamAuth, PAUSE } from "./iam-auth";

/**
 * Stops a provider's background work (its share of the refresh timer) until its next
 * `getToken()`, for an adapter whose ORM object was destroyed (`knex.destroy()`,
 * `DataSource.destroy()`, `$disconnect()`) but may be used again: unlike `close()`, a
 * later query still works. Tokens stay cached for the next object that needs them.
 * A provider from another copy of core (CJS next to ESM) is paused through the same
 * registered symbol; anything else is left alone.
 */
export function pauseIamAuth(auth: IamAuth): void {
  const pause = (auth as unknown as Partial<Record<typeof PAUSE, () => void>>)[PAUSE];
  if (typeof pause === "function") pause.call(auth);
}

/** A pool (pg, mysql2 or an adapter's own) whose `end()` means its ORM object is done. */
export interface EndablePool {
  end(...args: never[]): unknown;
}

/**
 * Pauses `auth` (see {@link pauseIamAuth}) when `pool.end()` is called: the ORM
 * object that owns the pool was destroyed. Patches the instance; the pool ends as before.
 */
export function pauseWhenEnded<P extends EndablePool>(pool: P, auth: IamAuth): P {
  const end = pool.end;
  if (typeof end !== "function") return pool;
  Object.defineProperty(pool, "end", {
    configurable: true,
    writable: true,
    value: function endAndPause(this: unknown, ...args: never[]): unknown {
      pauseIamAuth(auth);
      return end.apply(this, args);
    },
  });
  return pool;
}
