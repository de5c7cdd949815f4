import { describe, expect, it } from "vitest";
import { defaultPort, describeValue, parseEngine } from "../src/engine";
import { isRdsIamError } from "../src/errors";

describe("defaultPort", () => {
  it("is the port RDS uses for each engine", () => {
    expect(defaultPort("postgres")).toBe(5432);
    expect(defaultPort("mysql")).toBe(3306);
  });
});

describe("parseEngine", () => {
  it.each([
    ["postgres", "postgres"],
    ["postgresql", "postgres"],
    ["pg", "postgres"],
    ["aurora-postgresql", "postgres"],
    ["mysql", "mysql"],
    ["mysql2", "mysql"],
    ["mariadb", "mysql"],
    ["aurora-mysql", "mysql"],
    // Names are matched whatever their case.
    ["PostgreSQL", "postgres"],
    ["MariaDB", "mysql"],
    ["Aurora-MySQL", "mysql"],
  ])("%s -> %s", (name, engine) => {
    expect(parseEngine(name)).toBe(engine);
  });

  it("refuses an unknown engine with INVALID_OPTION naming engine and the value", () => {
    let caught: unknown;
    try {
      parseEngine("oracle");
    } catch (error) {
      caught = error;
    }
    expect(isRdsIamError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: "INVALID_OPTION", option: "engine" });
    expect((caught as Error).message).toBe('engine must be "postgres" or "mysql" (got "oracle").');
  });

  it("says MISSING_OPTION when no engine is given, INVALID_OPTION for null", () => {
    expect(() => parseEngine(undefined)).toThrow(
      expect.objectContaining({ code: "MISSING_OPTION", option: "engine" }),
    );
    expect(() => parseEngine(null)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "engine" }),
    );
  });

  it("names the option the way the caller spells it", () => {
    expect(() => parseEngine("sqlite", "type")).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTION",
        option: "type",
        message: expect.stringMatching(/^type must be/),
      }),
    );
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"])(
    "does not find Object.prototype's %s",
    (name) => {
      expect(() => parseEngine(name)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    },
  );

  it.each([5, true, {}, ["postgres"], " postgres"])("refuses %j", (value) => {
    expect(() => parseEngine(value)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
  });
});

describe("describeValue", () => {
  it("quotes strings as JSON, so control characters cannot forge a log line", () => {
    expect(describeValue("mysql")).toBe('"mysql"');
    expect(describeValue('a"b\nc')).toBe('"a\\"b\\nc"');
  });

  it("cuts long strings at 80 characters", () => {
    const long = "x".repeat(200);
    expect(describeValue(long)).toBe(JSON.stringify(`${"x".repeat(80)}...`));
    expect(describeValue("y".repeat(80))).toBe(JSON.stringify("y".repeat(80)));
  });

  it("shows numbers, booleans and null, and 'nothing' for undefined", () => {
    expect(describeValue(42)).toBe("42");
    expect(describeValue(Number.NaN)).toBe("NaN");
    expect(describeValue(false)).toBe("false");
    expect(describeValue(null)).toBe("null");
    expect(describeValue(undefined)).toBe("nothing");
  });

  it("names the kind of other values and never their contents", () => {
    expect(describeValue(["hunter2"])).toBe("an array");
    expect(describeValue(() => "hunter2")).toBe("a function");
    expect(describeValue(10n)).toBe("a bigint");
    const object = describeValue({ secretAccessKey: "hunter2" });
    expect(object).toMatch(/object/);
    expect(object).not.toContain("hunter2");
  });

  it("describes a revoked Proxy instead of throwing", () => {
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    expect(describeValue(proxy)).toBe("a revoked Proxy");
  });
});
