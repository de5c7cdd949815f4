import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedAwsEnv } from "./support/aws-env";
import { POSTGRES_BACKEND } from "./support/databases";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";
import { observe } from "./support/secret-scan";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** The real sequelize-cli, a dev dependency of tests/. */
const CLI = join(here, "node_modules", "sequelize-cli", "lib", "sequelize");
/** The built package, as a project that installed it would load it. */
const PACKAGE = join(here, "..", "packages", "sequelize", "dist", "index.cjs");

/** The config.js the README documents: an async function, so options are built once per run. */
const CONFIG = `const { withIamAuth } = require(${JSON.stringify(PACKAGE)});

module.exports = async () => ({
  development: withIamAuth({
    dialect: "postgres",
    host: process.env.DB_HOST,
    port: Number(process.env.DB_PORT),
    username: process.env.DB_USER,
    database: process.env.DB_NAME,
    dialectOptions: { ssl: { ca: process.env.DB_CA } },
    iam: {
      iamHost: process.env.DB_IAM_HOST,
      iamDefaultPort: Number(process.env.DB_IAM_PORT),
      iamRegion: "us-east-1",
    },
  }),
});
`;

const MIGRATION = `module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable("cli_widgets", {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      name: { type: Sequelize.STRING(50), allowNull: false },
    });
  },
  async down(queryInterface) {
    await queryInterface.dropTable("cli_widgets");
  },
};
`;

describe("sequelize-cli db:migrate through an async config.js using @rds-iam/sequelize", () => {
  let fixture: IamFixture;
  let dir: string;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres");
    // Inside tests/, so that the CLI finds sequelize (and pg) the way a project's would.
    dir = await mkdtemp(join(here, ".tmp-sequelize-cli-"));
    await mkdir(join(dir, "migrations"));
    // A CommonJS project, as `sequelize-cli init` assumes (tests/ itself is ESM).
    await writeFile(join(dir, "package.json"), '{ "type": "commonjs" }\n');
    await writeFile(join(dir, "config.js"), CONFIG);
    await writeFile(join(dir, "migrations", "20260101000000-create-widgets.js"), MIGRATION);
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    await fixture?.close();
  });

  const cli = (command: string) =>
    run(
      process.execPath,
      [
        CLI,
        command,
        // Vitest sets NODE_ENV=test, which the CLI would take as the config's environment.
        "--env",
        "development",
        "--config",
        "config.js",
        "--migrations-path",
        "migrations",
      ],
      {
        cwd: dir,
        env: {
          ...process.env,
          ...isolatedAwsEnv({
            // The SDK's default provider chain finds these, as on a developer's machine.
            AWS_ACCESS_KEY_ID: fixture.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: fixture.credentials.secretAccessKey,
          }),
          DB_HOST: fixture.host,
          DB_PORT: String(fixture.port),
          DB_USER: fixture.user,
          DB_NAME: fixture.database,
          DB_CA: fixture.ca,
          DB_IAM_HOST: fixture.iamHost,
          DB_IAM_PORT: String(fixture.iamDefaultPort),
        },
        timeout: 60_000,
      },
    );

  async function tables(): Promise<string[]> {
    const client = new pg.Client({
      host: POSTGRES_BACKEND.host,
      port: POSTGRES_BACKEND.port,
      user: POSTGRES_BACKEND.adminUser,
      database: fixture.database,
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>(
        "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
      );
      return rows.map((row) => row.name);
    } finally {
      await client.end();
    }
  }

  it("applies and undoes the migration, logging in with IAM tokens the gateway verified", async () => {
    const accepted = fixture.gateway.stats().accepted;
    const up = await cli("db:migrate");
    observe("sequelize-cli db:migrate", up.stdout + up.stderr);
    expect(up.stdout).toContain("20260101000000-create-widgets: migrated");
    expect(await tables()).toEqual(["SequelizeMeta", "cli_widgets"]);
    expect(fixture.gateway.stats().accepted).toBeGreaterThan(accepted);
    expect(fixture.gateway.stats().rejected).toEqual({});

    const down = await cli("db:migrate:undo");
    observe("sequelize-cli db:migrate:undo", down.stdout + down.stderr);
    expect(down.stdout).toContain("20260101000000-create-widgets: reverted");
    expect(await tables()).toEqual(["SequelizeMeta"]);
  });
});
