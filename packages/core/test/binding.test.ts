import { describe, expect, it } from "vitest";
import { MYSQL2_URI, PG_CONNECTION_STRING, prepareBinding } from "../src/binding";
import { STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const input = { host: HOST, user: "binding_app", credentials: STATIC_CREDENTIALS };

const failure = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
};

describe("prepareBinding", () => {
  it("splits the driver's options from ours, decides TLS, and creates nothing yet", () => {
    const binding = prepareBinding(
      { ...input, database: "app", max: 3, iamAllowPlaintext: false },
      { what: "test", engine: "postgres" },
    );
    expect(binding.driver).toEqual({ database: "app", max: 3 });
    expect(Object.isFrozen(binding.driver)).toBe(true);
    expect(binding.engine).toBe("postgres");
    expect(binding.tls).toMatchObject({ rejectUnauthorized: true, servername: HOST });
    expect(binding.iamAllowPlaintext).toBe(false);
  });

  it("creates one provider per engine, with that engine's default ports", () => {
    const binding = prepareBinding(input, { what: "iamConnection()" });
    expect(binding.engine).toBeUndefined();
    const pg = binding.auth("postgres");
    expect(binding.auth("postgres")).toBe(pg);
    expect(pg.target).toMatchObject({ port: 5432, iamDefaultPort: 5432 });
    expect(binding.auth("mysql").target).toMatchObject({ port: 3306, iamDefaultPort: 3306 });
    expect(failure(() => binding.auth())).toMatchObject({
      code: "MISSING_OPTION",
      option: "engine",
    });
    pg.close();
  });

  it("refuses a static password and the spec's options, naming them as the adapter spells them", () => {
    expect(failure(() => prepareBinding({ ...input, password: "x" }, { what: "t" }))).toMatchObject(
      { code: "CONFLICTING_OPTIONS", option: "password" },
    );
    const url = failure(() =>
      prepareBinding(
        { ...input, connectionString: "postgres://u:p@h/db" },
        { what: "t", names: { connectionString: "url" }, refuse: [PG_CONNECTION_STRING] },
      ),
    ) as Error;
    expect(url).toMatchObject({ code: "CONFLICTING_OPTIONS", option: "url" });
    expect(url.message).not.toContain("u:p");
    expect(
      failure(() =>
        prepareBinding({ ...input, uri: "mysql://h" }, { what: "t", refuse: [MYSQL2_URI] }),
      ),
    ).toMatchObject({ code: "CONFLICTING_OPTIONS", option: "uri" });
  });

  it("refuses an engine that contradicts the binding's", () => {
    expect(
      failure(() =>
        prepareBinding({ ...input, engine: "mysql" }, { what: "t", engine: "postgres" }),
      ),
    ).toMatchObject({ code: "CONFLICTING_OPTIONS", option: "engine" });
    expect(
      prepareBinding({ ...input, engine: "pg" }, { what: "t", engine: "postgres" }).engine,
    ).toBe("postgres");
  });

  it("checks every IAM option up front, named as the adapter spells them", () => {
    expect(
      failure(() =>
        prepareBinding(
          { ...input, iamRegion: "nowhere" },
          { what: "t", names: { iamRegion: "iam.iamRegion" } },
        ),
      ),
    ).toMatchObject({ code: "INVALID_OPTION", option: "iam.iamRegion" });
    expect(
      failure(() => prepareBinding({ ...input, iamRegoin: "us-east-1" }, { what: "t" })),
    ).toMatchObject({ code: "INVALID_OPTION", option: "iamRegoin" });
    expect(
      failure(() => prepareBinding({ ...input, tokenCache: {} }, { what: "t" })),
    ).toMatchObject({
      code: "INVALID_OPTION",
      option: "tokenCache",
    });
    expect(failure(() => prepareBinding({ ...input, ssl: false }, { what: "t" }))).toMatchObject({
      code: "PLAINTEXT_REFUSED",
    });
    expect(failure(() => prepareBinding([] as never, { what: "pgIamConfig" }))).toMatchObject({
      code: "INVALID_OPTION",
      option: "options",
    });
  });

  it("reads the input once: what was checked is what the driver gets", () => {
    let reads = 0;
    const given = { ...input };
    Object.defineProperty(given, "database", {
      enumerable: true,
      get: () => `db${++reads}`,
    });
    const binding = prepareBinding(given, { what: "t", engine: "mysql" });
    expect(binding.driver.database).toBe("db1");
    expect(binding.driver.database).toBe("db1");
    expect(reads).toBe(1);
  });
});
