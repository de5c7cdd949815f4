import { DrizzleQueryError } from "drizzle-orm";

/**
 * Runs a Drizzle query and rethrows what the driver threw: Drizzle wraps every driver
 * error in a `DrizzleQueryError` whose `cause` is the driver's (ours included), so the
 * reliability suite sees the same errors through Drizzle as through the pool. Users
 * match `error.cause` the same way (see the packages' READMEs).
 */
export async function unwrappingDrizzle<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (error instanceof DrizzleQueryError && error.cause !== undefined) throw error.cause;
    throw error;
  }
}
