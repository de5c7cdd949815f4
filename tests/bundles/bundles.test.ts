import { readFile } from "node:fs/promises";
import { type CredentialServer, startCredentialServer } from "@rds-iam/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedPrismaClient } from "../../packages/prisma/test/support/prisma-clients";
import { isolatedAwsEnv } from "../support/aws-env";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { record, registerCredentials } from "../support/secret-scan";
import {
  type BuiltBundle,
  type BundleApp,
  type BundleFormat,
  bundleApp,
  ESM_REQUIRE_BANNER,
  EXTERNALS,
  holdsPackage,
  inTempDir,
  KNEX_UNUSED_DRIVERS,
  notInstalled,
  runBundle,
} from "./bundle-app";

// Each adapter's app (./apps) bundled by esbuild as a Lambda function's build would,
// from the built packages (`pnpm build` first, as the README's test command does), then
// run from an empty temporary folder with no node_modules: it logs in through the
// gateway with credentials from a loopback container credentials endpoint, found by the
// AWS SDK's default provider chain inside the bundle.

interface Case {
  readonly app: BundleApp;
  readonly engine: "postgres" | "mysql";
  /** The driver package the bundle must hold. */
  readonly driver: string;
}

const CASES: readonly Case[] = [
  { app: "knex", engine: "postgres", driver: "pg" },
  { app: "knex", engine: "mysql", driver: "mysql2" },
  { app: "typeorm", engine: "postgres", driver: "pg" },
  { app: "typeorm", engine: "mysql", driver: "mysql2" },
  { app: "prisma", engine: "postgres", driver: "pg" },
  { app: "prisma", engine: "mysql", driver: "mariadb" },
  { app: "pg", engine: "postgres", driver: "pg" },
  { app: "mysql2", engine: "mysql", driver: "mysql2" },
];
const FORMATS: readonly BundleFormat[] = ["cjs", "esm"];

let server: CredentialServer;
const fixtures: Partial<Record<Case["engine"], IamFixture>> = {};

beforeAll(async () => {
  server = await startCredentialServer({ onIssue: (issued) => registerCredentials(issued) });
  // The gateways accept whatever the endpoint issued: the bundles hold no credentials.
  fixtures.postgres = await startIamFixture("postgres", { credentials: () => server.issued() });
  fixtures.mysql = await startIamFixture("mysql", { credentials: () => server.issued() });
});
afterAll(async () => {
  await fixtures.postgres?.close();
  await fixtures.mysql?.close();
  await server?.close();
});

function fixtureFor(engine: Case["engine"]): IamFixture {
  const fixture = fixtures[engine];
  if (fixture === undefined) throw new Error(`no ${engine} fixture`);
  return fixture;
}

/** The bundled app's environment: where to connect, and how to find credentials. */
function appEnv(engine: Case["engine"]): Record<string, string | undefined> {
  const fixture = fixtureFor(engine);
  const target = {
    host: fixture.host,
    port: fixture.port,
    user: fixture.user,
    database: fixture.database,
    iamHost: fixture.iamHost,
    iamDefaultPort: fixture.iamDefaultPort,
    iamRegion: fixture.iamRegion,
    ca: fixture.ca,
  };
  return isolatedAwsEnv({
    ...server.env(),
    RDS_IAM_BUNDLE_TARGET: JSON.stringify(target),
    RDS_IAM_BUNDLE_ENGINE: engine,
  });
}

/** What the database calls the IAM user: PostgreSQL `current_user`, MySQL `current_user()`. */
function expectedWho(engine: Case["engine"]): string {
  const { user } = fixtureFor(engine);
  return engine === "postgres" ? user : `${user}@%`;
}

/** The Prisma app imports its generated client by this name; other apps need no alias. */
async function aliasFor(
  app: BundleApp,
  engine: Case["engine"],
  format: BundleFormat,
): Promise<{ alias?: Record<string, string> }> {
  if (app !== "prisma") return {};
  // A CommonJS bundle needs the client generated with moduleFormat = "cjs".
  return { alias: { "rds-iam-bundle-prisma-client": await generatedPrismaClient(engine, format) } };
}

/** What else the app's bundle marks external: knex's drivers for the other engine. */
function externalFor(app: BundleApp, engine: Case["engine"]): { external?: readonly string[] } {
  return app === "knex" ? { external: KNEX_UNUSED_DRIVERS[engine] } : {};
}

/** Runs a bundle and keeps its output in the secret scan's record. */
async function run(bundle: BuiltBundle, engine: Case["engine"], label: string) {
  const result = await runBundle(bundle, appEnv(engine));
  record(`bundle:${label}:stdout`, result.stdout);
  record(`bundle:${label}:stderr`, result.stderr);
  return result;
}

describe.each(FORMATS)("esbuild bundles (%s) run from a folder without node_modules", (format) => {
  it.each(CASES)("$app on $engine logs in through the gateway", async ({ app, engine, driver }) => {
    await inTempDir("rds-iam-bundle-build-", async (outdir) => {
      const bundle = await bundleApp({
        app,
        format,
        outdir,
        ...externalFor(app, engine),
        ...(await aliasFor(app, engine, format)),
      });
      // Our packages as published (dist/), never our sources.
      const ours = bundle.inputs.filter((input) => /packages\/[\w-]+\/(src|dist)\//.test(input));
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.filter((input) => /packages\/[\w-]+\/src\//.test(input))).toEqual([]);
      // The driver and the provider chain's container provider are inside the bundle.
      expect(holdsPackage(bundle, driver)).toBe(true);
      expect(holdsPackage(bundle, "@aws-sdk/credential-provider-http")).toBe(true);
      const requestsBefore = server.stats().requests;
      const result = await run(bundle, engine, `${app}-${engine}-${format}`);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ who: expectedWho(engine), mints: 1 });
      expect(server.stats().requests).toBeGreaterThan(requestsBefore);
    });
  });
});

interface AbsentCase {
  readonly app: "typeorm" | "prisma";
  readonly engine: Case["engine"];
  /** Packages the app's folder does not have (optional peers of the other engine). */
  readonly absent: readonly string[];
  /** The same, for the test's name. */
  readonly missing: string;
}

const ABSENT: readonly AbsentCase[] = [
  { app: "typeorm", engine: "mysql", absent: ["pg"], missing: "pg" },
  {
    app: "prisma",
    engine: "mysql",
    absent: ["@prisma/adapter-pg", "pg"],
    missing: "@prisma/adapter-pg and pg",
  },
  {
    app: "prisma",
    engine: "postgres",
    absent: ["@prisma/adapter-mariadb", "mariadb"],
    missing: "@prisma/adapter-mariadb and mariadb",
  },
];

describe.each(FORMATS)(
  "esbuild bundles (%s) without the other engine's optional peers",
  (format) => {
    it.each(ABSENT)(
      "$app on $engine bundles and logs in with $missing not installed",
      async ({ app, engine, absent }) => {
        await inTempDir("rds-iam-bundle-build-", async (outdir) => {
          const { alias = {} } = await aliasFor(app, engine, format);
          const bundle = await bundleApp({
            app,
            format,
            outdir,
            alias: { ...alias, ...notInstalled(...absent) },
          });
          for (const name of absent) expect(holdsPackage(bundle, name)).toBe(false);
          const result = await run(bundle, engine, `${app}-${engine}-${format}-absent`);
          expect(result.stderr).toBe("");
          expect(result.code).toBe(0);
          expect(JSON.parse(result.stdout)).toEqual({ who: expectedWho(engine), mints: 1 });
        });
      },
    );

    it("a TypeORM postgres app whose pg is not installed fails with the error that says so", async () => {
      await inTempDir("rds-iam-bundle-build-", async (outdir) => {
        const bundle = await bundleApp({
          app: "typeorm",
          format,
          outdir,
          alias: notInstalled("pg"),
        });
        const result = await run(bundle, "postgres", `typeorm-postgres-${format}-no-pg`);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(
          "The pg package is not installed. Install it (TypeORM needs it for this database type), or pass the module as the driver option.",
        );
      });
    });
  },
);

it("docs/serverless.md gives the banner and the knex externals these bundles use", async () => {
  const doc = await readFile(new URL("../../docs/serverless.md", import.meta.url), "utf8");
  expect(doc).toContain(`--banner:js='${ESM_REQUIRE_BANNER}'`);
  expect(doc).toContain(`| \`${EXTERNALS.knex.join(" ")}\`, and whichever of`);
});
