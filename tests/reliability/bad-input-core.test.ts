import { createIamAuth, iamDatabaseUrl, mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import {
  createMariadbConnectionFactory,
  type MariadbModuleLike,
  mysql2AuthPlugins,
} from "@rds-iam/core/driver";
import { afterAll, describe, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";
import { assertNoLeaks } from "../support/secret-scan";
import {
  type BadInputCase,
  expectBadInput,
  SECRET_CREDENTIALS,
  TOKEN_LIKE,
} from "./support/bad-input";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = { host: HOST, user: "app", credentials: SECRET_CREDENTIALS };

// Calls with deliberately wrong shapes: the table is about what users pass at runtime.
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const auth = (options: Record<string, unknown>) => createIamAuth(options as Loose);
const pgConfig = (options: Record<string, unknown>) => pgIamConfig(options as Loose);
const mysqlConfig = (options: Record<string, unknown>) => mysql2IamConfig(options as Loose);
const noMariadb: MariadbModuleLike<never> = {
  createConnection: () => Promise.reject(new Error("must not connect")),
};
const mariadbFactory = (options: Record<string, unknown>) =>
  createMariadbConnectionFactory(noMariadb, options as Loose);
const url = (options: Record<string, unknown>) => iamDatabaseUrl(options as Loose);

const CORE_CASES: readonly BadInputCase[] = [
  // createIamAuth: every option of the token provider.
  {
    name: "options not an object",
    run: () => auth(null as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "missing engine",
    run: () => auth({ ...BASE }),
    code: "MISSING_OPTION",
    option: "engine",
  },
  {
    name: "unknown engine",
    run: () => auth({ ...BASE, engine: "oracle" }),
    code: "INVALID_OPTION",
    option: "engine",
  },
  {
    name: "missing host",
    run: () => auth({ ...BASE, engine: "postgres", host: undefined }),
    code: "MISSING_OPTION",
    option: "host",
  },
  {
    name: "non-string host",
    run: () => auth({ ...BASE, engine: "postgres", host: 42 }),
    code: "INVALID_OPTION",
    option: "host",
  },
  {
    name: "blank host",
    run: () => auth({ ...BASE, engine: "postgres", host: "   " }),
    code: "INVALID_OPTION",
    option: "host",
  },
  {
    name: "missing user",
    run: () => auth({ ...BASE, engine: "postgres", user: undefined }),
    code: "MISSING_OPTION",
    option: "user",
  },
  {
    name: "non-string user",
    run: () => auth({ ...BASE, engine: "mysql", user: { name: "app" } }),
    code: "INVALID_OPTION",
    option: "user",
  },
  {
    name: "port 0",
    run: () => auth({ ...BASE, engine: "postgres", port: 0 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "port out of range",
    run: () => auth({ ...BASE, engine: "postgres", port: 70_000 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "port not a number",
    run: () => auth({ ...BASE, engine: "mysql", port: "33o6" }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "fractional port",
    run: () => auth({ ...BASE, engine: "mysql", port: 3306.5 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "iamDefaultPort negative",
    run: () => auth({ ...BASE, engine: "postgres", iamDefaultPort: -1 }),
    code: "INVALID_OPTION",
    option: "iamDefaultPort",
  },
  {
    name: "IPv4 host without iamHost",
    run: () => auth({ ...BASE, engine: "postgres", host: "10.0.0.12" }),
    code: "IAM_HOST_REQUIRED",
    option: "iamHost",
  },
  {
    name: "IPv6 host without iamHost",
    run: () => auth({ ...BASE, engine: "mysql", host: "fd00::12" }),
    code: "IAM_HOST_REQUIRED",
    option: "iamHost",
  },
  {
    name: "custom domain without iamHost",
    run: () => auth({ ...BASE, engine: "postgres", host: "db.example.com" }),
    code: "IAM_HOST_REQUIRED",
    option: "iamHost",
  },
  {
    name: "iamHost is an IP address",
    run: () => auth({ ...BASE, engine: "postgres", host: "127.0.0.1", iamHost: "10.1.2.3" }),
    code: "INVALID_OPTION",
    option: "iamHost",
  },
  {
    name: "blank iamHost",
    run: () => auth({ ...BASE, engine: "postgres", iamHost: " " }),
    code: "INVALID_OPTION",
    option: "iamHost",
  },
  {
    name: "region without dashes",
    run: () => auth({ ...BASE, engine: "postgres", iamRegion: "useast1" }),
    code: "INVALID_OPTION",
    option: "iamRegion",
  },
  {
    name: "region with underscores",
    run: () => auth({ ...BASE, engine: "mysql", iamRegion: "us_east_1" }),
    code: "INVALID_OPTION",
    option: "iamRegion",
  },
  {
    name: "custom iamHost and no region anywhere",
    run: () =>
      auth({ ...BASE, engine: "postgres", host: "127.0.0.1", iamHost: "db.internal.example" }),
    code: "REGION_UNRESOLVED",
    option: "iamRegion",
  },
  {
    name: "Aurora global endpoint and no region",
    run: () =>
      auth({ ...BASE, engine: "mysql", host: "mydb.global-abc123.global.rds.amazonaws.com" }),
    code: "REGION_UNRESOLVED",
    option: "iamRegion",
  },
  {
    name: "iamTokenExpiration over 900",
    run: () => auth({ ...BASE, engine: "postgres", iamTokenExpiration: 901 }),
    code: "INVALID_OPTION",
    option: "iamTokenExpiration",
  },
  {
    name: "iamTokenExpiration 0",
    run: () => auth({ ...BASE, engine: "postgres", iamTokenExpiration: 0 }),
    code: "INVALID_OPTION",
    option: "iamTokenExpiration",
  },
  {
    name: "iamTokenExpiration as a string",
    run: () => auth({ ...BASE, engine: "mysql", iamTokenExpiration: "600" }),
    code: "INVALID_OPTION",
    option: "iamTokenExpiration",
  },
  {
    name: "credentials without a secret key",
    run: () =>
      auth({
        ...BASE,
        engine: "postgres",
        credentials: { accessKeyId: SECRET_CREDENTIALS.accessKeyId },
      }),
    code: "INVALID_OPTION",
    option: "credentials",
  },
  {
    name: "credentials pasted as one string",
    run: () =>
      auth({
        ...BASE,
        engine: "postgres",
        credentials: `${SECRET_CREDENTIALS.accessKeyId}:${SECRET_CREDENTIALS.secretAccessKey}`,
      }),
    code: "INVALID_OPTION",
    option: "credentials",
  },
  {
    name: "credentials with an empty secret",
    run: () =>
      auth({
        ...BASE,
        engine: "mysql",
        credentials: { ...SECRET_CREDENTIALS, secretAccessKey: "" },
      }),
    code: "INVALID_OPTION",
    option: "credentials",
  },
  {
    name: "awsProfile not a string",
    run: () => auth({ ...BASE, engine: "postgres", awsProfile: 5 }),
    code: "INVALID_OPTION",
    option: "awsProfile",
  },
  {
    name: "clock not a function",
    run: () => auth({ ...BASE, engine: "postgres", clock: "now" }),
    code: "INVALID_OPTION",
    option: "clock",
  },
  // Token-time failures: also errors naming the option, with the cause attached.
  {
    name: "credential provider fails",
    run: () =>
      auth({
        ...BASE,
        engine: "postgres",
        credentials: () => Promise.reject(new Error("no credentials here")),
      }).getToken(),
    code: "CREDENTIALS_UNAVAILABLE",
    option: "credentials",
  },
  {
    name: "credential provider returns nothing usable",
    run: () =>
      auth({
        ...BASE,
        engine: "mysql",
        credentials: async () => ({ accessKeyId: "AKIDONLY" }),
      }).getToken(),
    code: "CREDENTIALS_UNAVAILABLE",
    option: "credentials",
  },
  {
    name: "session credentials already expired",
    run: () =>
      auth({
        ...BASE,
        engine: "postgres",
        credentials: { ...SECRET_CREDENTIALS, expiration: new Date(Date.now() - 60_000) },
      }).getToken(),
    code: "CREDENTIALS_EXPIRED",
    option: "credentials",
  },
  // pg binding.
  {
    name: "pg: connectionString plus IAM",
    run: () =>
      pgConfig({
        ...BASE,
        connectionString: `postgres://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/db`,
      }),
    code: "CONFLICTING_OPTIONS",
    option: "connectionString",
  },
  {
    name: "pg: a static password (a pasted token)",
    run: () => pgConfig({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "pg: ssl false to a remote host",
    run: () => pgConfig({ ...BASE, ssl: false }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "pg: plaintext opt-out to a remote host",
    run: () => pgConfig({ ...BASE, ssl: false, iamAllowPlaintext: true }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "pg: unknown ssl mode",
    run: () => pgConfig({ ...BASE, ssl: "verify-full" }),
    code: "INVALID_OPTION",
    option: "ssl",
  },
  {
    name: "pg: iamAllowPlaintext not a boolean",
    run: () => pgConfig({ ...BASE, ssl: false, iamAllowPlaintext: "yes" }),
    code: "INVALID_OPTION",
    option: "iamAllowPlaintext",
  },
  // mysql2 binding.
  {
    name: "mysql2: a static password",
    run: () => mysqlConfig({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "mysql2: ssl disabled",
    run: () => mysqlConfig({ ...BASE, ssl: "disable" }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "mysql2: port out of range",
    run: () => mysqlConfig({ ...BASE, port: 65_536 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "mysql2: server asks for the token on a socket without TLS",
    run: () => {
      const plugin = mysql2AuthPlugins(auth({ ...BASE, engine: "mysql" })).mysql_clear_password;
      return plugin({ connection: { stream: { encrypted: false } } })(Buffer.alloc(0));
    },
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  // mariadb factory.
  {
    name: "mariadb: a static password",
    run: () => mariadbFactory({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "mariadb: plaintext opt-out to a remote host",
    run: () => mariadbFactory({ ...BASE, ssl: false, iamAllowPlaintext: true }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "mariadb: empty user",
    run: () => mariadbFactory({ ...BASE, user: "" }),
    code: "MISSING_OPTION",
    option: "user",
  },
  // Database URLs.
  {
    name: "url: MySQL for Prisma's engine",
    run: () => url({ ...BASE, engine: "mysql", flavor: "prisma" }),
    code: "CONFLICTING_OPTIONS",
    option: "flavor",
  },
  {
    name: "url: unknown flavor",
    run: () => url({ ...BASE, engine: "postgres", flavor: "jdbc" }),
    code: "INVALID_OPTION",
    option: "flavor",
  },
  {
    name: "url: node-postgres flavor for MySQL",
    run: () => url({ ...BASE, engine: "mysql", flavor: "node-postgres" }),
    code: "CONFLICTING_OPTIONS",
    option: "flavor",
  },
  {
    name: "url: database not a string",
    run: () => url({ ...BASE, engine: "postgres", database: 5 }),
    code: "INVALID_OPTION",
    option: "database",
  },
  {
    name: "url: a password option",
    run: () => url({ ...BASE, engine: "postgres", passwd: TOKEN_LIKE }),
    code: "INVALID_OPTION",
    option: "passwd",
  },
];

describe("bad input: core (createIamAuth, driver bindings, database URLs)", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });

  it.each(CORE_CASES)("$name -> $code naming $option", async (row) => {
    // No region from the machine's environment or profile: results must not depend on it.
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});

export { CORE_CASES };
