/** Test helpers for @rds-iam/knex (no database). */

export const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

export const CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDEXAMPLEKNEX0001",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
});

/** A clock that only moves when told to. */
export function fakeClock(start = Date.UTC(2026, 10, 24, 12, 0, 0)) {
  let now = start;
  return Object.assign(() => now, {
    advance(ms: number) {
      now += ms;
    },
  });
}

/** Runs `fn` and returns what it threw (or fails the test if it did not throw). */
export async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
