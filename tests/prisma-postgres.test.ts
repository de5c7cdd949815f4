import { inspect } from "node:util";
import { TokenCache } from "@rds-iam/core";
import { createIamAdapter } from "@rds-iam/prisma";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeClock } from "../packages/core/test/support";
import {
  loadPrismaClient,
  POSTGRES_TABLES,
  type TestPrismaClient,
  type TestPrismaClientClass,
} from "../packages/prisma/test/support/prisma-clients";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

let PrismaClient: TestPrismaClientClass;

beforeAll(async () => {
  PrismaClient = await loadPrismaClient("postgres");
});

/**
 * A token cache of the adapter's own, for tests that count its mints: by default,
 * adapters (and the migration runner) for the same user share the process's tokens.
 */
const OWN_TOKENS = () => ({ tokenCache: new TokenCache() });

function adapterFor(fixture: IamFixture, extra: Record<string, unknown> = {}) {
  return createIamAdapter({
    engine: "postgres",
    ...fixture.iamOptions(),
    database: fixture.database,
    ...extra,
  });
}

async function createTables(prisma: TestPrismaClient): Promise<void> {
  for (const sql of POSTGRES_TABLES) await prisma.$executeRawUnsafe(sql);
}

/** Every token the adapter minted so far must be absent from `text`. */
function expectNoSecret(text: string, fixture: IamFixture): void {
  expect(text).not.toContain("X-Amz-Signature");
  expect(text).not.toContain(fixture.credentials.secretAccessKey);
}

describe("Prisma 7 on PostgreSQL through the IAM gateway", () => {
  let fixture: IamFixture;
  let prisma: TestPrismaClient;
  let adapter: ReturnType<typeof adapterFor>;

  beforeAll(async () => {
    fixture = await startIamFixture("postgres");
    adapter = adapterFor(fixture, { max: 4, ...OWN_TOKENS() });
    prisma = new PrismaClient({ adapter });
    await createTables(prisma);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await fixture?.close();
  });

  it("runs CRUD", async () => {
    const created = await prisma.user.create({ data: { email: "ada@example.com", name: "Ada" } });
    expect(created).toMatchObject({ email: "ada@example.com", name: "Ada" });
    const found = await prisma.user.findUnique({ where: { email: "ada@example.com" } });
    expect(found?.id).toBe(created.id);
    const updated = await prisma.user.update({
      where: { id: created.id },
      data: { name: "Ada Lovelace" },
    });
    expect(updated.name).toBe("Ada Lovelace");
    await prisma.user.delete({ where: { id: created.id } });
    expect(await prisma.user.count()).toBe(0);
  });

  it("follows relations both ways, with nested writes", async () => {
    const author = await prisma.user.create({
      data: {
        email: "grace@example.com",
        posts: { create: [{ title: "COBOL" }, { title: "Compilers", published: true }] },
      },
      include: { posts: { orderBy: { title: "asc" } } },
    });
    expect(author.posts?.map((post) => post.title)).toEqual(["COBOL", "Compilers"]);
    const posts = await prisma.post.findMany({
      where: { published: true },
      include: { author: true },
    });
    expect(posts).toHaveLength(1);
    expect(posts[0]?.author?.email).toBe("grace@example.com");
  });

  it("commits and rolls back interactive transactions", async () => {
    const committed = await prisma.$transaction(async (tx) => {
      const user = await tx.user.create({ data: { email: "tx@example.com" } });
      await tx.post.create({ data: { title: "in tx", authorId: user.id } });
      return tx.post.count({ where: { authorId: user.id } });
    });
    expect(committed).toBe(1);

    await expect(
      prisma.$transaction(async (tx) => {
        await tx.user.create({ data: { email: "rollback@example.com" } });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await prisma.user.findUnique({ where: { email: "rollback@example.com" } })).toBeNull();
    expect(await prisma.user.findUnique({ where: { email: "tx@example.com" } })).not.toBeNull();
  });

  it("logs each physical connection in with a token and keeps reusing them", async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        prisma.$transaction(async (tx) => tx.user.count({ where: { id: i } })),
      ),
    );
    const stats = fixture.gateway.stats();
    // At most `max` connections, each an accepted IAM login; one token for all of them.
    expect(stats.accepted).toBeGreaterThanOrEqual(2);
    expect(stats.accepted).toBeLessThanOrEqual(4);
    expect(stats.rejected).toEqual({});
    expect(adapter.auth.stats().mints).toBe(1);
    const current = await prisma.$queryRawUnsafe<{ user: string }[]>(
      'SELECT current_user AS "user"',
    );
    expect(current[0]?.user).toBe(fixture.user);
  });

  it("closes every connection on $disconnect and reconnects on the next query", async () => {
    await prisma.$disconnect();
    await expect.poll(() => fixture.gateway.stats().active).toBe(0);
    expect(await prisma.user.count()).toBeGreaterThan(0);
    expect(fixture.gateway.stats().active).toBeGreaterThan(0);
  });

  it("keeps tokens out of JSON and inspect output", () => {
    expectNoSecret(JSON.stringify(adapter), fixture);
    expectNoSecret(inspect(adapter, { depth: 5, showHidden: true }), fixture);
  });
});

describe("Prisma on PostgreSQL: rejected logins", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("retries one rejected login with a fresh token: success, one extra mint", async () => {
    const adapter = adapterFor(fixture, OWN_TOKENS());
    const prisma = new PrismaClient({ adapter });
    try {
      fixture.gateway.faults.rejectNextLogins(1);
      expect(await prisma.$queryRawUnsafe<{ one: number }[]>("SELECT 1 AS one")).toEqual([
        { one: 1 },
      ]);
      expect(adapter.auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
      expect(fixture.gateway.stats().rejected).toEqual({ injected: 1 });
    } finally {
      await prisma.$disconnect();
      fixture.gateway.faults.reset();
    }
  });

  it("gives up after the retry with an error that names the fix and no token", async () => {
    const adapter = adapterFor(fixture, OWN_TOKENS());
    const prisma = new PrismaClient({ adapter });
    try {
      // The gateway's clock runs 20 minutes ahead: every token we sign looks expired.
      fixture.gateway.faults.skewClock(20 * 60_000);
      const error = await prisma.user.count().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      const text = `${String(error)}\n${inspect(error, { depth: 8 })}\n${JSON.stringify(error)}`;
      expect(text).toContain("The database rejected the IAM token");
      expect((error as { code?: unknown }).code).toBe("AUTH_REJECTED");
      expectNoSecret(text, fixture);
      expect(adapter.auth.stats().mints).toBe(2);
      expect(fixture.gateway.stats().rejected.expired).toBe(2);
    } finally {
      fixture.gateway.faults.reset();
      await prisma.$disconnect();
    }
  });
});

describe("Prisma on PostgreSQL: token rotation on a shared fake clock", () => {
  const clock = fakeClock(Date.now());
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres", { gateway: { now: clock } });
    const setup = new PrismaClient({ adapter: adapterFor(fixture, { clock }) });
    await createTables(setup);
    await setup.user.create({ data: { email: "clock@example.com" } });
    await setup.$disconnect();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("opens new connections with a new token after expiry while in-use ones keep working", async () => {
    const adapter = adapterFor(fixture, { clock, ...OWN_TOKENS() });
    const prisma = new PrismaClient({ adapter });
    try {
      await prisma.user.count();
      expect(adapter.auth.stats().mints).toBe(1);
      await prisma.$transaction(
        async (tx) => {
          await tx.user.count();
          // 16 minutes later for both sides: the first token is dead everywhere.
          clock.advance(16 * 60_000);
          // Outside the transaction: its connection is busy, so this needs a new
          // login, which must carry a new token.
          expect(await prisma.user.count()).toBe(1);
          // The transaction's connection, logged in with the old token, still works.
          await tx.user.create({ data: { email: "late@example.com" } });
        },
        { timeout: 20_000 },
      );
      expect(await prisma.user.count()).toBe(2);
      expect(adapter.auth.stats().mints).toBe(2);
      expect(fixture.gateway.stats().rejected).toEqual({});
    } finally {
      await prisma.$disconnect();
    }
  });

  it("runs an hour of simulated traffic with zero failures", async () => {
    const adapter = adapterFor(fixture, { clock, max: 3, ...OWN_TOKENS() });
    const prisma = new PrismaClient({ adapter });
    const acceptedBefore = fixture.gateway.stats().accepted;
    let failures = 0;
    try {
      for (let minute = 0; minute < 60; minute++) {
        clock.advance(60_000);
        // Every 5 minutes the pool is closed, so new logins happen all hour long.
        if (minute % 5 === 0) await prisma.$disconnect();
        const results = await Promise.allSettled([
          prisma.user.count(),
          prisma.$transaction(async (tx) => tx.user.findMany({ take: 1 })),
          prisma.post.count(),
        ]);
        failures += results.filter((result) => result.status === "rejected").length;
      }
    } finally {
      await prisma.$disconnect();
    }
    expect(failures).toBe(0);
    expect(fixture.gateway.stats().rejected).toEqual({});
    // A token lasts 14.5 minutes: an hour needs at least 4 mints, and the cache keeps
    // it far below one per login.
    const logins = fixture.gateway.stats().accepted - acceptedBefore;
    expect(logins).toBeGreaterThanOrEqual(12);
    expect(adapter.auth.stats().mints).toBeGreaterThanOrEqual(4);
    expect(adapter.auth.stats().mints).toBeLessThan(logins);
  });
});
