import type { Knex } from "knex";

/** Knex instances a test opened, destroyed together at the end. */
export function knexTracker() {
  const opened: Knex[] = [];
  return {
    track<T extends Knex>(db: T): T {
      opened.push(db);
      return db;
    },
    async destroyAll(): Promise<void> {
      await Promise.all(opened.splice(0).map((db) => db.destroy()));
    },
  };
}

interface TarnPoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingCreates(): number;
}

/**
 * Waits until an idle-reaping knex pool holds no connection, so that the next query
 * opens a new one. Polls the pool (no fixed sleep); fails after `limitMs`.
 */
export async function poolDrained(db: Knex, limitMs = 5_000): Promise<void> {
  const pool = (db.client as { pool?: TarnPoolLike }).pool;
  if (pool === undefined) throw new Error("knex has no pool");
  const deadline = Date.now() + limitMs;
  while (pool.numUsed() + pool.numFree() + pool.numPendingCreates() > 0) {
    if (Date.now() > deadline) throw new Error("the pool did not drain");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A pool that closes idle connections at once, so each round of queries logs in anew. */
export const REAPING_POOL = {
  min: 0,
  max: 3,
  idleTimeoutMillis: 10,
  reapIntervalMillis: 10,
} as const;

/** A clock that only moves when told to. */
export function fakeClock(start = Date.now()) {
  let now = start;
  return Object.assign(() => now, {
    advance(ms: number) {
      now += ms;
    },
  });
}

/** Differences between two gateway stats snapshots' counters. */
export function rejectedSince(
  before: Readonly<Partial<Record<string, number>>>,
  after: Readonly<Partial<Record<string, number>>>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [reason, count] of Object.entries(after)) {
    const diff = (count ?? 0) - (before[reason] ?? 0);
    if (diff !== 0) delta[reason] = diff;
  }
  return delta;
}
