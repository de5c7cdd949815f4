import { describe, expect, it } from "vitest";
import { isRdsIamError, RdsIamError } from "../src/errors";

describe("RdsIamError", () => {
  it("carries a stable code, the option at fault and the message", () => {
    const error = new RdsIamError("INVALID_OPTION", "port must be a number.", { option: "port" });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(RdsIamError);
    expect(error.name).toBe("RdsIamError");
    expect(error.code).toBe("INVALID_OPTION");
    expect(error.option).toBe("port");
    expect(error.message).toBe("port must be a number.");
    expect(error.stack).toContain("RdsIamError");
  });

  it("has no option and no cause unless given", () => {
    const error = new RdsIamError("CLOSED", "closed");
    expect(error.option).toBeUndefined();
    expect("cause" in error).toBe(false);
    const withUndefinedCause = new RdsIamError("CLOSED", "closed", { cause: undefined });
    expect("cause" in withUndefinedCause).toBe(false);
  });

  it("keeps the underlying error as cause", () => {
    const cause = new Error("socket hang up");
    const error = new RdsIamError("TOKEN_GENERATION_FAILED", "could not sign", { cause });
    expect(error.cause).toBe(cause);
  });

  it("serialises to nothing but its own fields (the brand is hidden)", () => {
    const error = new RdsIamError("TIMEOUT", "too slow", { option: "iamTimeout" });
    expect(Object.keys(error).sort()).toEqual(["code", "name", "option"]);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: "RdsIamError",
      code: "TIMEOUT",
      option: "iamTimeout",
    });
  });
});

describe("isRdsIamError", () => {
  it("is true for our errors", () => {
    expect(isRdsIamError(new RdsIamError("CLOSED", "closed"))).toBe(true);
  });

  it("recognises an error of another copy of the package by its brand", () => {
    // What the CJS build's class produces when the ESM build checks it.
    const foreign = Object.defineProperty(new Error("x"), Symbol.for("@rds-iam/core.RdsIamError"), {
      value: true,
    });
    expect(foreign instanceof RdsIamError).toBe(false);
    expect(isRdsIamError(foreign)).toBe(true);
  });

  it.each([
    ["a plain Error", new Error("x")],
    ["an error that merely has a code", Object.assign(new Error("x"), { code: "INVALID_OPTION" })],
    ["a brand that is not true", { [Symbol.for("@rds-iam/core.RdsIamError")]: "true" }],
    ["a brand under another name", { [Symbol("@rds-iam/core.RdsIamError")]: true }],
    ["null", null],
    ["undefined", undefined],
    ["a string", "RdsIamError"],
  ])("is false for %s", (_name, value) => {
    expect(isRdsIamError(value)).toBe(false);
  });
});
