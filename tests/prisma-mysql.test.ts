import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { TokenCache } from "@rds-iam/core";
import { createIamAdapter } from "@rds-iam/prisma";
import { deployMysqlMigrations } from "@rds-iam/prisma/migrate";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { fakeClock } from "../packages/core/test/support";
import {
  loadPrismaClient,
  MYSQL_MIGRATIONS,
  type TestPrismaClient,
  type TestPrismaClientClass,
} from "../packages/prisma/test/support/prisma-clients";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

let PrismaClient: TestPrismaClientClass;

beforeAll(async () => {
  PrismaClient = await loadPrismaClient("mysql");
});

/**
 * A token cache of the adapter's own, for tests that count its mints: by default,
 * adapters (and the migration runner) for the same user share the process's tokens.
 */
const OWN_TOKENS = () => ({ tokenCache: new TokenCache() });

function adapterFor(fixture: IamFixture, extra: Record<string, unknown> = {}) {
  return createIamAdapter({
    engine: "mysql",
    ...fixture.iamOptions(),
    database: fixture.database,
    ...extra,
  });
}

function migrate(fixture: IamFixture, extra: Record<string, unknown> = {}) {
  return deployMysqlMigrations({
    ...fixture.iamOptions(),
    database: fixture.database,
    migrationsDir: MYSQL_MIGRATIONS,
    log: () => {},
    ...extra,
  });
}

function expectNoSecret(text: string, fixture: IamFixture): void {
  expect(text).not.toContain("X-Amz-Signature");
  expect(text).not.toContain(fixture.credentials.secretAccessKey);
}

describe("Prisma 7 on MariaDB through the IAM gateway", () => {
  let fixture: IamFixture;
  let prisma: TestPrismaClient;
  let adapter: ReturnType<typeof adapterFor>;

  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
    adapter = adapterFor(fixture, { connectionLimit: 4, ...OWN_TOKENS() });
    prisma = new PrismaClient({ adapter });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await fixture?.close();
  });

  it("applies Prisma migrations over an IAM login (the route prisma migrate deploy cannot take)", async () => {
    const first = await migrate(fixture);
    expect(first).toEqual({ applied: ["20260101000000_init"], skipped: [] });
    const again = await migrate(fixture);
    expect(again).toEqual({ applied: [], skipped: ["20260101000000_init"] });
    const rows = await prisma.$queryRawUnsafe<
      { migration_name: string; applied_steps_count: number; checksum: string }[]
    >(
      "SELECT migration_name, applied_steps_count, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.migration_name).toBe("20260101000000_init");
    expect(Number(rows[0]?.applied_steps_count)).toBe(1);
    expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("records a failing migration, stops there, and refuses to go on until it is resolved", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rds-iam-migrations-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await cp(MYSQL_MIGRATIONS, dir, { recursive: true });
    await mkdir(join(dir, "20260102000000_broken"));
    await writeFile(
      join(dir, "20260102000000_broken", "migration.sql"),
      "ALTER TABLE nope ADD x INT;",
    );
    await mkdir(join(dir, "20260103000000_later"));
    await writeFile(join(dir, "20260103000000_later", "migration.sql"), "SELECT 1;");
    const first = await migrate(fixture, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(String((first as Error).message)).toContain("Migration 20260102000000_broken failed");
    expectNoSecret(inspect(first, { depth: 6 }), fixture);
    const again = await migrate(fixture, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(String((again as Error).message)).toContain("20260102000000_broken failed earlier");
    const rows = await prisma.$queryRawUnsafe<{ migration_name: string; logs: string | null }[]>(
      "SELECT migration_name, logs FROM _prisma_migrations WHERE finished_at IS NULL",
    );
    expect(rows).toEqual([
      { migration_name: "20260102000000_broken", logs: expect.stringContaining("nope") },
    ]);
    // Resolve it as `prisma migrate resolve --rolled-back` would, for the next test.
    await prisma.$executeRawUnsafe(
      "UPDATE _prisma_migrations SET rolled_back_at = NOW(3) WHERE finished_at IS NULL",
    );
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

  it("logs each new connection in with a token, reuses released ones, respects the limit", async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        prisma.$transaction(async (tx) => tx.user.count({ where: { id: i } })),
      ),
    );
    const [pool] = adapter.pools();
    expect(pool).toBeDefined();
    const stats = pool!.stats();
    expect(stats.opened).toBeGreaterThanOrEqual(2);
    expect(stats.opened).toBeLessThanOrEqual(4);
    expect(stats).toMatchObject({ inUse: 0, waiting: 0 });
    expect(fixture.gateway.stats().rejected).toEqual({});
    // One token served every login (the migrations' own logins are a separate provider).
    expect(adapter.auth.stats().mints).toBe(1);
    const current = await prisma.$queryRawUnsafe<{ user: string }[]>(
      "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS user",
    );
    expect(current[0]?.user).toBe(fixture.user);
  });

  it("leaks nothing on $disconnect and reconnects on the next query", async () => {
    await prisma.$disconnect();
    expect(adapter.pools()).toHaveLength(0);
    await expect.poll(() => fixture.gateway.stats().active).toBe(0);
    expect(await prisma.user.count()).toBeGreaterThan(0);
    expect(adapter.pools()).toHaveLength(1);
  });

  it("replaces connections the server dropped while they were idle", async () => {
    const busy = () =>
      Promise.all(
        Array.from({ length: 3 }, () =>
          prisma.$transaction(async (tx) => tx.$queryRawUnsafe("SELECT SLEEP(0.05) AS s")),
        ),
      );
    await busy();
    const [pool] = adapter.pools();
    const before = pool!.stats();
    expect(before.idle).toBeGreaterThanOrEqual(3);
    // Kill our other sessions, as a failover or wait_timeout would.
    const ids = await prisma.$queryRawUnsafe<{ id: bigint | number }[]>(
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()",
      fixture.user,
    );
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const { id } of ids) await prisma.$executeRawUnsafe(`KILL ${Number(id)}`);
    await expect.poll(() => pool!.stats().idle).toBeLessThanOrEqual(1);
    // Three at once again: dead connections are never handed out, new ones log in.
    await busy();
    expect(pool!.stats().opened).toBeGreaterThanOrEqual(before.opened + ids.length);
  });

  it("keeps tokens out of JSON and inspect output", () => {
    expectNoSecret(JSON.stringify(adapter), fixture);
    expectNoSecret(inspect(adapter, { depth: 5, showHidden: true }), fixture);
    expectNoSecret(inspect(adapter.pools(), { depth: 5, showHidden: true }), fixture);
  });
});

describe("Prisma on MariaDB: rejected logins", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
    await migrate(fixture);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("retries one rejected login with a fresh token: success, one extra mint", async () => {
    const adapter = adapterFor(fixture, OWN_TOKENS());
    const prisma = new PrismaClient({ adapter });
    try {
      const rejectedBefore = fixture.gateway.stats().rejected.injected ?? 0;
      fixture.gateway.faults.rejectNextLogins(1);
      expect(await prisma.user.count()).toBe(0);
      // The adapter's first query (the server version probe) logs in: one rejection,
      // one fresh token, one success.
      expect(adapter.auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
      expect((fixture.gateway.stats().rejected.injected ?? 0) - rejectedBefore).toBe(1);
    } finally {
      fixture.gateway.faults.reset();
      await prisma.$disconnect();
    }
  });

  it("gives up after the retry with an error that names the fix and no token", async () => {
    const adapter = adapterFor(fixture, OWN_TOKENS());
    const prisma = new PrismaClient({ adapter });
    try {
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
      // One login, tried exactly twice, before the adapter's server-version probe (which
      // would swallow the failure and let the query try twice more): never a loop.
      expect(adapter.auth.stats().invalidations).toBe(2);
      expect(fixture.gateway.stats().rejected.expired).toBe(2);
    } finally {
      fixture.gateway.faults.reset();
      await prisma.$disconnect();
    }
  });
});

describe("Prisma on MariaDB: token rotation on a shared fake clock", () => {
  const clock = fakeClock(Date.now());
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql", { gateway: { now: clock } });
    await migrate(fixture, { clock });
    const setup = new PrismaClient({ adapter: adapterFor(fixture, { clock }) });
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
          clock.advance(16 * 60_000);
          // The transaction holds the only open connection: this query logs in anew.
          expect(await prisma.user.count()).toBe(1);
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
    const adapter = adapterFor(fixture, { clock, connectionLimit: 3, ...OWN_TOKENS() });
    const prisma = new PrismaClient({ adapter });
    const acceptedBefore = fixture.gateway.stats().accepted;
    let failures = 0;
    try {
      for (let minute = 0; minute < 60; minute++) {
        clock.advance(60_000);
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
    const logins = fixture.gateway.stats().accepted - acceptedBefore;
    expect(logins).toBeGreaterThanOrEqual(12);
    expect(adapter.auth.stats().mints).toBeGreaterThanOrEqual(4);
    expect(adapter.auth.stats().mints).toBeLessThan(logins);
    await expect.poll(() => fixture.gateway.stats().active).toBe(0);
  });
});
