import { describe, expect, it } from "vitest";
import { checkUrlParams } from "../src/url-params";

const refused = (params: unknown) => {
  try {
    checkUrlParams(params);
  } catch (error) {
    return error as Error & { code: string; option: string };
  }
  throw new Error("expected checkUrlParams to throw");
};

describe("checkUrlParams", () => {
  it("is empty without params", () => {
    expect(checkUrlParams(undefined)).toEqual({});
    expect(checkUrlParams(null)).toEqual({});
  });

  it("returns a copy of plain string parameters", () => {
    const params = { schema: "app", application_name: "api-1", "connect.timeout": "10" };
    const checked = checkUrlParams(params);
    expect(checked).toEqual(params);
    expect(checked).not.toBe(params);
  });

  it.each([["schema=app"], [["schema", "app"]], [42], [() => ({})]])(
    "refuses %j as the params object, naming params",
    (params) => {
      const error = refused(params);
      expect(error).toMatchObject({ code: "INVALID_OPTION", option: "params" });
      expect(error.message).toContain("params must be an object of string values");
    },
  );

  it.each(["a b", "a&b", "a=b", "x#y", "", "é", "k".repeat(65)])(
    "refuses the key %j, which is not a plain parameter name",
    (key) => {
      const error = refused({ [key]: "v" });
      expect(error).toMatchObject({ code: "INVALID_OPTION", option: "params" });
      expect(error.message).toContain("not a plain parameter name");
    },
  );

  it("takes a 64-character key", () => {
    const key = "k".repeat(64);
    expect(checkUrlParams({ [key]: "v" })).toEqual({ [key]: "v" });
  });

  it.each([
    "sslmode",
    "SSLMODE",
    "sslrootcert",
    "sslnegotiation",
    "ssl",
    "requiressl",
    "tls",
    "gssencmode",
    "uselibpqcompat",
    "enableCleartextPlugin",
    "verifyIdentity",
    "rejectUnauthorized",
    "ca",
    "servername",
    "checkServerIdentity",
    "secureProtocol",
    "flags",
  ])("refuses %s as governing TLS, naming params.<key>", (key) => {
    const error = refused({ [key]: "x" });
    expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: `params.${key}` });
    expect(error.message).toContain(`params.${key} governs TLS`);
  });

  it.each([
    "host",
    "hostaddr",
    "port",
    "user",
    "username",
    "password",
    "password2",
    "passwordSha1",
    "passfile",
    "socket",
    "socketPath",
    "uri",
    "localAddress",
    "stream",
    "authPlugins",
    "authSwitchHandler",
    "isServer",
    "HOST",
  ])("refuses %s as redirecting the token or the login", (key) => {
    const error = refused({ [key]: "x" });
    expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: `params.${key}` });
    expect(error.message).toContain("would replace where the token is sent or who logs in");
  });

  it.each(["debug", "logPackets", "debugCompress"])("refuses %s as printing packets", (key) => {
    const error = refused({ [key]: "true" });
    expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: `params.${key}` });
    expect(error.message).toContain("print or keep its packets");
  });

  it("refuses a refused key whatever its value (before checking the value)", () => {
    expect(refused({ sslmode: false })).toMatchObject({ code: "CONFLICTING_OPTIONS" });
  });

  it.each([1, true, null, { a: 1 }, ["x"]])("refuses the non-string value %j", (value) => {
    const error = refused({ schema: value });
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "params.schema" });
    expect(error.message).toContain("params.schema must be a string");
  });

  it("names the option and suggests fixes the way the caller spells them", () => {
    const fixes = { tls: "pass --ca-file instead", target: "use --host and --port" };
    const nameOf = (key: string) => `--param ${key}`;
    expect(() => checkUrlParams({ sslmode: "disable" }, "--param", nameOf, fixes)).toThrow(
      expect.objectContaining({
        code: "CONFLICTING_OPTIONS",
        option: "--param sslmode",
        message: expect.stringContaining("pass --ca-file instead"),
      }),
    );
    expect(() => checkUrlParams({ host: "attacker.example" }, "--param", nameOf, fixes)).toThrow(
      expect.objectContaining({ message: expect.stringContaining("use --host and --port") }),
    );
    expect(() => checkUrlParams("x", "--param", nameOf, fixes)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "--param" }),
    );
  });

  it("refuses an unreadable params object with a typed error", () => {
    const params = {
      get schema(): string {
        throw new Error("boom");
      },
    };
    expect(refused(params)).toMatchObject({ code: "INVALID_OPTION", option: "params" });
  });
});
