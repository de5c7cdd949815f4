import { describe, expect, it } from "vitest";
import * as core from "../src/index";

describe("@rds-iam/core (the public entry)", () => {
  it("exports exactly what applications call: at most 20 runtime names", () => {
    // A new public name is a decision: add it here on purpose, or put it in ./driver.
    expect(Object.keys(core).sort()).toEqual(
      [
        "RdsIamError",
        "TokenCache",
        "createIamAuth",
        "generateAuthToken",
        "iamDatabaseUrl",
        "isRdsIamError",
        "mariadbIamConfig",
        "mysql2IamConfig",
        "parseRdsHostname",
        "pgIamConfig",
        "rdsCaBundle",
      ].sort(),
    );
    expect(Object.keys(core).length).toBeLessThanOrEqual(20);
  });
});
