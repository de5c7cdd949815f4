import { describe, expect, it } from "vitest";
import {
  bindingInput,
  IAM_ONLY_OPTION_NAMES,
  type IamConnectionOptions,
  splitIamOptions,
} from "../src/connection-options";

// Every name in the list is an option a binding takes (checked by the compiler).
const asOptionNames: readonly (keyof IamConnectionOptions)[] = IAM_ONLY_OPTION_NAMES;

describe("IAM_ONLY_OPTION_NAMES", () => {
  it("lists the signing and transport options, without the target and ssl", () => {
    expect(new Set(asOptionNames).size).toBe(asOptionNames.length);
    for (const target of ["engine", "host", "port", "user", "ssl"]) {
      expect(IAM_ONLY_OPTION_NAMES).not.toContain(target);
    }
    expect([...IAM_ONLY_OPTION_NAMES].sort()).toEqual(
      [
        "awsProfile",
        "clock",
        "credentials",
        "iamAllowPlaintext",
        "iamAllowTokenInDebugOutput",
        "iamDefaultPort",
        "iamHost",
        "iamRegion",
        "iamTimeout",
        "iamTokenExpiration",
        "tokenCache",
      ].sort(),
    );
  });
});

describe("splitIamOptions", () => {
  it("puts every IAM option, the target and ssl on the IAM side", () => {
    const input: Record<string, unknown> = { engine: "postgres", host: "h", port: 1, user: "u" };
    for (const name of IAM_ONLY_OPTION_NAMES) input[name] = `value of ${name}`;
    input.ssl = { ca: "PEM" };
    const { iam, driver } = splitIamOptions(input);
    expect(iam).toEqual(input);
    expect(driver).toEqual({});
  });

  it("passes the driver's own options through untouched, values by reference", () => {
    const typeCast = () => "x";
    const pool = { max: 10 };
    const { iam, driver } = splitIamOptions({
      host: "h",
      database: "app",
      typeCast,
      pool,
      application_name: "api",
      hostname: "not ours",
      statement_timeout: undefined,
    });
    expect(iam).toEqual({ host: "h" });
    expect(driver).toEqual({
      database: "app",
      typeCast,
      pool,
      application_name: "api",
      hostname: "not ours",
      statement_timeout: undefined,
    });
    expect((driver as { pool: unknown }).pool).toBe(pool);
  });

  it("keeps keys whose value is undefined on their side", () => {
    const { iam } = splitIamOptions({ iamRegion: undefined, host: "h" });
    expect(Object.keys(iam).sort()).toEqual(["host", "iamRegion"]);
  });

  it.each([
    ["iamRegoin", "iamRegion"],
    ["iamHots", "iamHost"],
    ["IAMHost", "iamHost"],
    ["awsProfle", "awsProfile"],
    ["iamDefualtPort", "iamDefaultPort"],
    ["iamAllowPlainText", "iamAllowPlaintext"],
    ["Host", "host"],
    ["SSL", "ssl"],
    ["Engine", "engine"],
  ])("refuses the look-alike %s, suggesting %s", (key, guess) => {
    expect(() => splitIamOptions({ host: "h", [key]: "x" })).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTION",
        option: key,
        message: expect.stringContaining(
          `Unknown option ${JSON.stringify(key)} (did you mean ${guess}?)`,
        ),
      }),
    );
  });

  it("refuses an iam* or aws* key that is no near miss, without a guess, listing the known ones", () => {
    let caught: unknown;
    try {
      splitIamOptions({ awsSecretAccessKey: "x" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "INVALID_OPTION", option: "awsSecretAccessKey" });
    const message = (caught as Error).message;
    expect(message).not.toContain("did you mean");
    expect(message).toContain("the driver would ignore it");
    expect(message).toContain("Known: iamHost, iamDefaultPort, iamRegion");
  });

  it("reads each option once, and refuses an unreadable input with a typed error", () => {
    let reads = 0;
    const input = {
      get host() {
        reads++;
        return "h";
      },
    };
    expect(splitIamOptions(input).iam).toEqual({ host: "h" });
    expect(reads).toBe(1);
    const throwing = {
      get host(): string {
        throw new Error("boom");
      },
    };
    expect(() => splitIamOptions(throwing)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "options" }),
    );
  });
});

describe("bindingInput", () => {
  it("returns a plain snapshot of the input", () => {
    const input = { host: "h", user: "u" };
    const snapshot = bindingInput(input, "pgIamConfig");
    expect(snapshot).toEqual(input);
    expect(snapshot).not.toBe(input);
    input.host = "changed";
    expect(snapshot.host).toBe("h");
  });

  it.each([null, undefined, "postgres://h/db", 42, () => ({}), [{ host: "h" }]])(
    "refuses %j, naming the binding and options",
    (input) => {
      expect(() => bindingInput(input as never, "mysql2IamConfig")).toThrow(
        expect.objectContaining({
          code: "INVALID_OPTION",
          option: "options",
          message: "mysql2IamConfig takes an options object: { host, user, ... }.",
        }),
      );
    },
  );

  it("refuses a revoked Proxy with a typed error, not a TypeError", () => {
    const { proxy, revoke } = Proxy.revocable({ host: "h" }, {});
    revoke();
    expect(() => bindingInput(proxy, "iamDatabaseUrl")).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "options" }),
    );
  });
});

describe("splitIamOptions (a binding's input)", () => {
  it("separates IAM options from the driver's", () => {
    const { iam: i, driver } = splitIamOptions({
      host: "h",
      user: "u",
      iamRegion: "r",
      database: "d",
      charset: "utf8mb4",
    });
    expect(i).toEqual({ host: "h", user: "u", iamRegion: "r" });
    expect(driver).toEqual({ database: "d", charset: "utf8mb4" });
  });
});
