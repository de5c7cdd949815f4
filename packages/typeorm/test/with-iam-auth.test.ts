import { inspect } from "node:util";
import { isRdsIamError } from "@rds-iam/core";
import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import pg from "pg";
import { DataSource, type DataSourceOptions } from "typeorm";
import { DataSource as DataSource03 } from "typeorm-03";
import { afterEach, describe, expect, it } from "vitest";
import { tlsStream } from "../../core/test/support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET };

const made: object[] = [];
afterEach(() => {
  for (const options of made.splice(0)) iamAuthOf(options).close();
});
function track<T extends object>(options: T): T {
  made.push(options);
  return options;
}
/** The options as TypeORM reads them: the keys withIamAuth adds are not in their type. */
const seen = (options: object) => options as Record<string, unknown>;

/** Runs `fn` and returns the RdsIamError it throws (fails the test if it throws anything else). */
function errorOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    if (isRdsIamError(error)) return error;
    throw error;
  }
  throw new Error("expected an RdsIamError");
}

describe("withIamAuth: the options TypeORM gets", () => {
  it("postgres: a password function, verified TLS, and a pg module whose Pool retries and has no native", async () => {
    const options = track(
      withIamAuth({
        type: "postgres",
        host: HOST,
        username: "app_user",
        database: "app",
        iam: { credentials },
      }),
    );
    expect(options).not.toHaveProperty("iam");
    expect(typeof seen(options).password).toBe("function");
    const ssl = seen(options).ssl as { ca?: unknown; rejectUnauthorized?: boolean };
    expect(ssl.ca).toBeTruthy();
    expect(ssl.rejectUnauthorized).not.toBe(false);
    const driver = seen(options).driver as {
      Pool: typeof pg.Pool;
      native: unknown;
      types: unknown;
    };
    expect(driver.native).toBeNull();
    expect(driver.Pool.prototype).toBeInstanceOf(pg.Pool);
    // Everything else TypeORM reads from the module is the real module's.
    expect(driver.types).toBe(pg.types);
    // The function mints a token for the endpoint, signed as the user.
    const token = await (seen(options).password as () => Promise<string>)();
    expect(token).toContain(`${HOST}:5432/?Action=connect`);
    expect(token).toContain("DBUser=app_user");
  });

  it("mysql: the clear-password plugin merged into the user's extra, mysql2 as the connector", async () => {
    const otherPlugin = () => () => Buffer.alloc(0);
    const options = track(
      withIamAuth({
        type: "mysql",
        host: HOST,
        username: "app_user",
        database: "app",
        extra: { connectTimeout: 1234, authPlugins: { other: otherPlugin } },
        iam: { credentials },
      }),
    );
    const extra = options.extra as {
      connectTimeout: number;
      authPlugins: Record<string, (...args: unknown[]) => unknown>;
    };
    expect(extra.connectTimeout).toBe(1234);
    expect(extra.authPlugins.other).toBe(otherPlugin);
    expect(typeof extra.authPlugins.mysql_clear_password).toBe("function");
    expect(seen(options).connectorPackage).toBe("mysql2");
    expect(seen(options).ssl).toBeTruthy();
    // On a TLS connection the plugin answers the server's switch request with the token
    // and a NUL byte; on a plaintext one it refuses to send it.
    const pluginFor = (encrypted: boolean) =>
      extra.authPlugins.mysql_clear_password?.({
        connection: { stream: encrypted ? tlsStream([HOST]) : { encrypted } },
      }) as () => Promise<Buffer | string>;
    const answer = String(await pluginFor(true)());
    expect(answer.endsWith("\0")).toBe(true);
    expect(answer).toContain("DBUser=app_user");
    await expect(pluginFor(false)()).rejects.toMatchObject({ code: "PLAINTEXT_REFUSED" });
  });

  it("mariadb: the same mysql2 route, since TypeORM drives MariaDB with mysql2 too", () => {
    const options = track(
      withIamAuth({ type: "mariadb", host: HOST, username: "app_user", iam: { credentials } }),
    );
    expect(seen(options).connectorPackage).toBe("mysql2");
    expect(iamAuthOf(options).target).toMatchObject({ engine: "mysql", port: 3306 });
  });

  it("keeps secrets out of inspect and JSON of the options and the provider", () => {
    const options = track(
      withIamAuth({ type: "postgres", host: HOST, username: "app_user", iam: { credentials } }),
    );
    for (const text of [
      inspect(options, { depth: null }),
      JSON.stringify(options),
      inspect(iamAuthOf(options), { depth: null }),
    ]) {
      expect(text).not.toContain(SECRET);
    }
  });

  it("type-checks as DataSource options of both TypeORM majors, without casts", () => {
    // `pnpm typecheck` compiles this file: these lines are the proof; constructing a
    // DataSource does not connect.
    const v1 = new DataSource(
      track(
        withIamAuth({
          type: "postgres",
          host: HOST,
          port: 5432,
          username: "app_user",
          database: "app",
          entities: [],
          poolSize: 5,
          iam: { iamRegion: "us-east-1", credentials },
        }),
      ),
    );
    const v03 = new DataSource03(
      track(
        withIamAuth({
          type: "mysql",
          host: HOST,
          username: "app_user",
          database: "app",
          extra: { connectTimeout: 5_000 },
          iam: { iamTokenExpiration: 600, credentials },
        }),
      ),
    );
    // Options whose type is a union (chosen at run time) stay DataSource options too.
    const chosen:
      | Extract<DataSourceOptions, { type: "postgres" }>
      | Extract<DataSourceOptions, { type: "mysql" | "mariadb" }> =
      process.env.RDS_IAM_TEST_ENGINE === "mysql"
        ? { type: "mysql", host: HOST, username: "app_user" }
        : { type: "postgres", host: HOST, username: "app_user" };
    const fromUnion = new DataSource(track(withIamAuth({ ...chosen, iam: { credentials } })));
    expect(fromUnion.options.type).toBe("postgres");
    expect(v1.isInitialized).toBe(false);
    expect(v03.isInitialized).toBe(false);
  });
});

describe("withIamAuth: bad combinations name the option", () => {
  const base = {
    type: "postgres",
    host: HOST,
    username: "app_user",
    iam: { credentials },
  } as const;

  it.each([
    [
      "url with IAM",
      { ...base, url: `postgres://app_user@${HOST}/app` },
      "CONFLICTING_OPTIONS",
      "url",
    ],
    ["a static password", { ...base, password: "hunter2" }, "CONFLICTING_OPTIONS", "password"],
    ["no host to sign for", { ...base, host: undefined }, "MISSING_OPTION", "host"],
    [
      "an IP host without iamHost",
      { ...base, host: "10.1.2.3" },
      "IAM_HOST_REQUIRED",
      "iam.iamHost",
    ],
    [
      "a custom domain without iamHost",
      { ...base, host: "db.example.com" },
      "IAM_HOST_REQUIRED",
      "iam.iamHost",
    ],
    [
      "plaintext without the opt-out",
      { ...base, host: "127.0.0.1", ssl: false, iam: { credentials, iamHost: HOST } },
      "PLAINTEXT_REFUSED",
      "ssl",
    ],
    ["no username", { ...base, username: "" }, "MISSING_OPTION", "username"],
    ["an unsupported type", { ...base, type: "sqlite" }, "INVALID_OPTION", "type"],
    [
      "extra.connectionString",
      { ...base, extra: { connectionString: `postgres://app_user@${HOST}/app` } },
      "CONFLICTING_OPTIONS",
      "extra.connectionString",
    ],
    [
      "extra.password",
      { ...base, extra: { password: "hunter2" } },
      "CONFLICTING_OPTIONS",
      "extra.password",
    ],
    [
      "extra.ssl (would replace the verified TLS)",
      { ...base, extra: { ssl: { rejectUnauthorized: false } } },
      "CONFLICTING_OPTIONS",
      "extra.ssl",
    ],
    [
      "extra.user on mysql",
      { ...base, type: "mysql", extra: { user: "someone_else" } },
      "CONFLICTING_OPTIONS",
      "extra.user",
    ],
    [
      "a misspelt IAM option",
      { ...base, iam: { credentials, iamRegoin: "eu-west-1" } },
      "INVALID_OPTION",
      "iam.iamRegoin",
    ],
    [
      "the target under iam",
      { ...base, iam: { credentials, host: "other.example.com" } },
      "INVALID_OPTION",
      "iam.host",
    ],
  ])("%s", (_name, options, code, option) => {
    // biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
    const error = errorOf(() => withIamAuth(options as any));
    expect(error.code).toBe(code);
    expect(error.option).toBe(option);
    expect(error.message).toContain(option.replace(/^iam\./, ""));
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain("hunter2");
  });

  it("suggests the right spelling of an IAM option", () => {
    // biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
    const error = errorOf(() => withIamAuth({ ...base, iam: { iamregion: "eu-west-1" } } as any));
    expect(error.message).toContain("did you mean iam.iamRegion?");
  });

  it("iamAuthOf refuses options that withIamAuth did not make", () => {
    expect(errorOf(() => iamAuthOf({ type: "postgres" })).code).toBe("INVALID_OPTION");
  });
});
