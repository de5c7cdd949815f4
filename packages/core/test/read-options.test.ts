import { describe, expect, it } from "vitest";
import { isRdsIamError, RdsIamError } from "../src/errors";
import { isArraySafe, readOptions } from "../src/read-options";

describe("readOptions", () => {
  it("copies the own enumerable keys into a new plain object", () => {
    const input = { host: "h", port: 5432, nested: { a: 1 } };
    const copy = readOptions(input);
    expect(copy).toEqual(input);
    expect(copy).not.toBe(input);
    // A snapshot: later changes to the input are not seen.
    input.host = "changed";
    expect(copy.host).toBe("h");
    // Values are not cloned.
    expect(copy.nested).toBe(input.nested);
  });

  it("leaves out inherited, non-enumerable and symbol keys", () => {
    const input = Object.create({ inherited: 1 }) as Record<string | symbol, unknown>;
    input.own = 2;
    Object.defineProperty(input, "hidden", { value: 3, enumerable: false });
    input[Symbol("s")] = 4;
    expect(readOptions(input)).toEqual({ own: 2 });
    expect(Object.getOwnPropertySymbols(readOptions(input))).toEqual([]);
  });

  it("reads each getter exactly once", () => {
    let reads = 0;
    const input = {
      get host() {
        reads++;
        return reads === 1 ? "first" : "second";
      },
    };
    const copy = readOptions(input);
    expect(copy.host).toBe("first");
    expect(copy.host).toBe("first");
    expect(reads).toBe(1);
  });

  it("skips an own __proto__ key instead of changing the copy's prototype", () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "user": "app"}') as object;
    const copy = readOptions(input);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copy).toEqual({ user: "app" });
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("turns a throwing getter into INVALID_OPTION naming the object, the thrower as cause", () => {
    const thrown = new Error("getter exploded with internals");
    const input = {
      get host(): string {
        throw thrown;
      },
    };
    let caught: unknown;
    try {
      readOptions(input, "ssl");
    } catch (error) {
      caught = error;
    }
    expect(isRdsIamError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: "INVALID_OPTION", option: "ssl" });
    const error = caught as RdsIamError;
    expect(error.message).toContain("The ssl object could not be read");
    expect(error.message).not.toContain("internals");
    expect(error.cause).toBe(thrown);
  });

  it("names the options object by default", () => {
    const input = {
      get x(): never {
        throw new TypeError("no");
      },
    };
    expect(() => readOptions(input)).toThrow(expect.objectContaining({ option: "options" }));
  });

  it("refuses a revoked Proxy with a typed error", () => {
    const { proxy, revoke } = Proxy.revocable({ host: "h" }, {});
    revoke();
    expect(() => readOptions(proxy, "iam")).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "iam" }),
    );
  });

  it("passes our own error from a getter through unchanged", () => {
    const ours = new RdsIamError("MISSING_OPTION", "inner", { option: "host" });
    const input = {
      get host(): never {
        throw ours;
      },
    };
    expect(() => readOptions(input)).toThrow(ours);
  });
});

describe("isArraySafe", () => {
  it("answers like Array.isArray", () => {
    expect(isArraySafe([])).toBe(true);
    expect(isArraySafe(new Proxy([], {}))).toBe(true);
    expect(isArraySafe({ length: 0 })).toBe(false);
    expect(isArraySafe("abc")).toBe(false);
    expect(isArraySafe(null)).toBe(false);
  });

  it("answers false for a revoked Proxy instead of throwing", () => {
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    expect(() => Array.isArray(proxy)).toThrow(TypeError);
    expect(isArraySafe(proxy)).toBe(false);
  });
});
