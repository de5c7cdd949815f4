import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { EntitySchema, MikroORM } from "@mikro-orm/core";
import { MariaDbDriver } from "@mikro-orm/mariadb";
import { Migration, Migrator } from "@mikro-orm/migrations";
import { MySqlDriver } from "@mikro-orm/mysql";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { TokenCache } from "@rds-iam/core";
import { iamAuthOf, isRdsIamError, withIamAuth } from "@rds-iam/mikro-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MINUTE, rejectionOf, type SimClock, simClock } from "../reliability/support/simulation";
import { isolatedAwsEnv } from "../support/aws-env";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { assertNoLeaks, record, registerCredentials, trackTokens } from "../support/secret-scan";

/** The MikroORM 6 SQL drivers, each on the engine it reaches here. */
export const DRIVERS = {
  PostgreSqlDriver: {
    driver: PostgreSqlDriver,
    engine: "postgres",
    module: "@mikro-orm/postgresql",
  },
  MySqlDriver: { driver: MySqlDriver, engine: "mysql", module: "@mikro-orm/mysql" },
  MariaDbDriver: { driver: MariaDbDriver, engine: "mysql", module: "@mikro-orm/mariadb" },
} as const;
export type DriverName = keyof typeof DRIVERS;

const TESTS = fileURLToPath(new URL("..", import.meta.url));

interface Note {
  id: number;
  body: string;
  done: boolean;
}

/** An entity as a schema: no decorators, no metadata emit. */
const NoteSchema = new EntitySchema<Note>({
  name: "Note",
  tableName: "notes",
  properties: {
    id: { type: "number", primary: true, autoincrement: true },
    body: { type: "string" },
    done: { type: "boolean" },
  },
});

function notesTable(engine: "postgres" | "mysql", table: string): string {
  return engine === "postgres"
    ? `create table ${table} (id serial primary key, body varchar(255) not null, done boolean not null default false)`
    : `create table ${table} (id int unsigned auto_increment primary key, body varchar(255) not null, done tinyint(1) not null default 0)`;
}

/** The part of MikroORM's SQL connection the tests look into: its knex instance. */
interface KnexLike {
  client: {
    acquireConnection(): Promise<object>;
    releaseConnection(connection: object): Promise<void>;
    connectionSettings?: object;
  };
}
/** The fixture's IAM options without the target and TLS (those are MikroORM's own). */
function iamOf(fixture: IamFixture) {
  const { host: _host, port: _port, user: _user, ssl: _ssl, ...iam } = fixture.iamOptions();
  return iam;
}

const knexOf = (orm: MikroORM): KnexLike =>
  (orm.em.getConnection() as unknown as { getKnex(): KnexLike }).getKnex();

/**
 * MikroORM 6 with `withIamAuth`, through the gateway in front of the real database:
 * every login is a SigV4 token the gateway verifies the way RDS does.
 */
export function mikroOrmSuite(name: DriverName): void {
  const { driver, engine, module } = DRIVERS[name];

  describe(`MikroORM ${name} through the gateway (${engine})`, () => {
    let fixture: IamFixture;
    let clock: SimClock;
    const opened: MikroORM[] = [];
    const logs: string[] = [];

    beforeAll(async () => {
      clock = simClock();
      fixture = await startIamFixture(engine, { gateway: { now: clock } });
      registerCredentials(fixture.credentials);
    });
    afterAll(async () => {
      for (const orm of opened) await orm.close(true);
      await fixture?.close();
      // The ORM's debug log (queries, connection messages) went to `logs`.
      record(`${name} MikroORM debug log`, logs.join("\n"));
      assertNoLeaks({ secretKeyShape: true });
    });

    /** Connections in here fail knex's validation on their next acquisition: a recycle. */
    const retired = new WeakSet<object>();

    class CreateNotes extends Migration {
      async up(): Promise<void> {
        this.addSql(notesTable(engine, "notes"));
      }
    }

    async function open(extra: Record<string, unknown> = {}): Promise<MikroORM> {
      const { host, port, user, ssl, ...iam } = fixture.iamOptions();
      const options = withIamAuth({
        driver,
        host,
        port,
        user,
        dbName: fixture.database,
        entities: [NoteSchema],
        extensions: [Migrator],
        migrations: {
          migrationsList: [{ name: "Migration20260101000000", class: CreateNotes }],
          // MySQL commits DDL implicitly; MikroORM warns when a migration mixes the two.
          transactional: engine === "postgres",
        },
        pool: { min: 0, max: 2 },
        driverOptions: {
          connection: { ssl },
          pool: { validate: (connection: object) => !retired.has(connection) },
        },
        debug: true,
        logger: (line: string) => logs.push(line),
        iam: { ...iam, clock, tokenCache: new TokenCache() },
        ...extra,
      });
      trackTokens(iamAuthOf(options));
      const orm = await MikroORM.init(options as Parameters<typeof MikroORM.init>[0]);
      opened.push(orm);
      return orm;
    }

    async function recycle(orm: MikroORM): Promise<void> {
      const { client } = knexOf(orm);
      const connection = await client.acquireConnection();
      retired.add(connection);
      await client.releaseConnection(connection);
    }

    it("logs in as the IAM user over TLS, migrates, persists entities in a transaction", async () => {
      const orm = await open();
      const auth = iamAuthOf(orm);
      expect(iamAuthOf(orm.config)).toBe(auth);
      expect(orm.em.getDriver()).toBeInstanceOf(driver);
      expect(orm.em.getDriver().constructor.name).toBe(name);

      const who =
        engine === "postgres"
          ? "select current_user as who"
          : "select substring_index(current_user(), '@', 1) as who";
      const [row] = await orm.em.getConnection().execute(who);
      expect(row.who).toBe(fixture.user);
      expect(fixture.gateway.stats().rejected.plaintext ?? 0).toBe(0);

      // orm.migrator.up() runs over the same IAM connections.
      const applied = await orm.migrator.up();
      expect(applied.map((m) => m.name)).toEqual(["Migration20260101000000"]);

      const em = orm.em.fork();
      await em.transactional(async (tx) => {
        tx.create(NoteSchema, { body: "kept", done: false });
        tx.create(NoteSchema, { body: "also kept", done: true });
      });
      await rejectionOf(
        em.fork().transactional(async (tx) => {
          tx.create(NoteSchema, { body: "rolled back", done: false });
          await tx.flush();
          throw new Error("roll back");
        }),
      );
      const notes = await orm.em.fork().find(NoteSchema, {}, { orderBy: { id: "asc" } });
      expect(notes.map((n) => [n.body, Boolean(n.done)])).toEqual([
        ["kept", false],
        ["also kept", true],
      ]);
      expect(auth.stats().mints).toBe(1);
      expect(auth.stats().failures).toBe(0);
    });

    it("nothing of the token in the ORM's options, its knex settings, or their inspection", async () => {
      const orm = await open();
      await orm.em.getConnection().execute("select 1");
      const settings = knexOf(orm).client.connectionSettings;
      // The secret scan fails this file if any of these held token material.
      record(`${name} inspect`, inspect(orm.config.getAll(), { depth: 6 }));
      record(`${name} settings`, `${inspect(settings, { depth: 4 })} ${JSON.stringify(settings)}`);
      expect(JSON.stringify(settings)).not.toMatch(/X-Amz-/);
    });

    it("TLS is verified by default: without the gateway's CA no login happens, no token leaves", async () => {
      const accepted = fixture.gateway.stats().accepted;
      // No ssl: the default is the RDS CA bundle, which did not sign the gateway's certificate.
      const error = await rejectionOf(
        (async () => {
          const orm = await open({ driverOptions: { connection: {} } });
          await orm.em.getConnection().execute("select 1");
        })(),
      );
      expect(String(error)).toMatch(/certificate|TLS_VERIFICATION_FAILED/i);
      expect(fixture.gateway.stats().accepted).toBe(accepted);
    });

    it("a TLS object of the user's without ca: verified against Node's roots, no token leaves", async () => {
      const accepted = fixture.gateway.stats().accepted;
      const error = await rejectionOf(
        (async () => {
          const orm = await open({
            driverOptions: { connection: { ssl: { rejectUnauthorized: true } } },
          });
          await orm.em.getConnection().execute("select 1");
        })(),
      );
      expect(String(error)).toMatch(/self-signed certificate/);
      expect(fixture.gateway.stats().accepted).toBe(accepted);
    });

    it("a certificate that does not name iamHost: refused before the token is sent", async () => {
      const { ssl } = fixture.iamOptions();
      const before = { ...fixture.gateway.stats() };
      const error = await rejectionOf(
        (async () => {
          const orm = await open({
            driverOptions: { connection: { ssl } },
            // Signed for another endpoint; the gateway's certificate does not name it.
            iam: { ...iamOf(fixture), iamHost: "other.cluster-abc123.us-east-1.rds.amazonaws.com" },
          });
          await orm.em.getConnection().execute("select 1");
        })(),
      );
      expect(String(error)).toMatch(/certificate|TLS_VERIFICATION_FAILED|altnames/i);
      expect(fixture.gateway.stats().accepted).toBe(before.accepted);
      // A token that got there would have been refused for its endpoint.
      expect(fixture.gateway.stats().rejected.endpoint ?? 0).toBe(before.rejected.endpoint ?? 0);
    });

    if (name === "MariaDbDriver") {
      it("refuses the mariadb connector MikroORM 6.6 pins (3.4.5): it checks a MariaDB server's certificate only after the token was sent", async () => {
        const orm = await open();
        await orm.em.getConnection().execute("select 1");
        // MikroORM's knex dialect loads `mariadb/callback`; here it gets the real 3.4.5.
        const dialect = Object.getPrototypeOf(knexOf(orm).client) as object;
        const own = Object.getOwnPropertyDescriptor(dialect, "_driver");
        const legacy = createRequire(import.meta.url)("mariadb-3.4/callback") as {
          version: string;
        };
        expect(legacy.version).toBe("3.4.5");
        Object.defineProperty(dialect, "_driver", { configurable: true, value: () => legacy });
        try {
          const accepted = fixture.gateway.stats().accepted;
          const error = await rejectionOf(open());
          expect(isRdsIamError(error), String(error)).toBe(true);
          expect(error).toMatchObject({ code: "TLS_VERIFICATION_FAILED", option: "driver" });
          expect((error as Error).message).toContain("3.4.5");
          expect(fixture.gateway.stats().accepted).toBe(accepted);
        } finally {
          if (own) Object.defineProperty(dialect, "_driver", own);
        }
      });
    }

    it("rotation on a fake clock: a new connection after the token's window logs in with a new token; the pool is the same", async () => {
      const orm = await open();
      const auth = iamAuthOf(orm);
      await orm.em.getConnection().execute("select 1");
      const knex = knexOf(orm);
      const pool = (knex.client as { pool?: object }).pool;
      const before = { mints: auth.stats().mints, accepted: fixture.gateway.stats().accepted };
      const rejected = { ...fixture.gateway.stats().rejected };
      clock.advance(16 * MINUTE);
      await recycle(orm);
      await orm.em.getConnection().execute("select 2");
      expect(auth.stats().mints).toBe(before.mints + 1);
      expect(fixture.gateway.stats().accepted).toBe(before.accepted + 1);
      // No retry was needed: the login carried a current token.
      expect(fixture.gateway.stats().rejected).toEqual(rejected);
      expect(knexOf(orm)).toBe(knex);
      expect((knex.client as { pool?: object }).pool).toBe(pool);
    });

    it("a rejected login is retried once with a fresh token, and the query succeeds", async () => {
      const orm = await open();
      const auth = iamAuthOf(orm);
      await orm.em.getConnection().execute("select 1");
      const stats = auth.stats();
      const injected = fixture.gateway.stats().rejected.injected ?? 0;
      fixture.gateway.faults.rejectNextLogins(1);
      try {
        await recycle(orm);
        expect(await orm.em.fork().count(NoteSchema)).toBeGreaterThanOrEqual(0);
      } finally {
        fixture.gateway.faults.reset();
      }
      expect(fixture.gateway.stats().rejected.injected).toBe(injected + 1);
      expect(auth.stats().invalidations).toBe(stats.invalidations + 1);
      expect(auth.stats().mints).toBe(stats.mints + 1);
    });

    it("persistent rejection: em.find fails with AUTH_REJECTED as an RdsIamError, after one retry", async () => {
      const orm = await open();
      await orm.em.getConnection().execute("select 1");
      const injected = fixture.gateway.stats().rejected.injected ?? 0;
      fixture.gateway.faults.rejectNextLogins(1000);
      try {
        await recycle(orm);
        const error = await rejectionOf(orm.em.fork().find(NoteSchema, {}));
        expect(isRdsIamError(error), String(error)).toBe(true);
        expect(error).toMatchObject({ code: "AUTH_REJECTED" });
        expect((error as Error).message).toContain("The database rejected the IAM token");
        expect(fixture.gateway.stats().rejected.injected).toBe(injected + 2);
      } finally {
        fixture.gateway.faults.reset();
      }
      expect(await orm.em.fork().count(NoteSchema)).toBeGreaterThanOrEqual(0);
    });

    it("`mikro-orm migration:up` with a config file that uses the built package", async () => {
      // Inside tests/, so the config file resolves the packages as an application would.
      const dir = await mkdtemp(join(TESTS, ".mikro-orm-cli-"));
      try {
        await mkdir(join(dir, "migrations"));
        await writeFile(
          join(dir, "migrations", "Migration20260102000000.mjs"),
          [
            'import { Migration } from "@mikro-orm/migrations";',
            "export class Migration20260102000000 extends Migration {",
            `  async up() { this.addSql(${JSON.stringify(notesTable(engine, "cli_notes"))}); }`,
            "}",
          ].join("\n"),
        );
        const { host, port, user, ssl, iamHost, iamDefaultPort, iamRegion } = fixture.iamOptions();
        const config = join(dir, "mikro-orm.config.mjs");
        await writeFile(
          config,
          [
            'import { withIamAuth } from "@rds-iam/mikro-orm";',
            `import { ${name} } from "${module}";`,
            'import { Migrator } from "@mikro-orm/migrations";',
            "// Credentials come from the AWS SDK's default chain (here: the environment).",
            "export default withIamAuth({",
            `  driver: ${name},`,
            `  host: ${JSON.stringify(host)}, port: ${port}, user: ${JSON.stringify(user)},`,
            `  dbName: ${JSON.stringify(fixture.database)},`,
            "  entities: [], discovery: { warnWhenNoEntities: false },",
            "  extensions: [Migrator],",
            `  migrations: { path: ${JSON.stringify(join(dir, "migrations"))}, glob: "*.mjs", tableName: "cli_migrations" },`,
            `  driverOptions: { connection: { ssl: { ca: ${JSON.stringify(ssl.ca)} } } },`,
            `  iam: { iamHost: ${JSON.stringify(iamHost)}, iamDefaultPort: ${iamDefaultPort}, iamRegion: ${JSON.stringify(iamRegion)} },`,
            "});",
          ].join("\n"),
        );
        const accepted = fixture.gateway.stats().accepted;
        // The gateway's clock is the suite's fake one; the CLI signs with the real time.
        const env = {
          ...process.env,
          ...isolatedAwsEnv({
            AWS_ACCESS_KEY_ID: fixture.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: fixture.credentials.secretAccessKey,
          }),
          NO_COLOR: "1",
          FORCE_COLOR: "0",
        };
        clock.advance(Date.now() - clock());
        const result = await runNode(
          [join(TESTS, "node_modules/@mikro-orm/cli/cli.js"), "migration:up", "--config", config],
          env as NodeJS.ProcessEnv,
        );
        record(`${name} CLI output`, `${result.stdout}\n${result.stderr}`);
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        expect(result.stdout).toMatch(/Successfully migrated up to the latest version/);
        expect(fixture.gateway.stats().accepted).toBeGreaterThan(accepted);
        const orm = await open();
        const rows = await orm.em.getConnection().execute("select name from cli_migrations");
        expect(rows.map((r: { name: string }) => r.name.replace(/\.mjs$/, ""))).toEqual([
          "Migration20260102000000",
        ]);
        await orm.em.getConnection().execute("select count(*) as n from cli_notes");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}

function runNode(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { env, cwd: TESTS, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? ((error as { code?: number | string }).code ?? error.message) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}
