import { describe, expect, it } from "vitest";
import * as driver from "../src/driver";
import * as core from "../src/index";

describe("@rds-iam/core/driver (the adapter contract)", () => {
  it("exports the skeleton, its views, the retries and the lifecycle hooks", () => {
    for (const name of [
      "prepareBinding",
      "pgConfigOf",
      "mysql2ConfigOf",
      "mariadbConfigOf",
      "mariadbConnector",
      "iamDatabaseUrlOf",
      "withAuthRetry",
      "withCheckoutAuthRetry",
      "retryPgPoolLogins",
      "withPgAuthRetry",
      "withMysql2AuthRetry",
      "authRejected",
      "isAuthFailure",
      "pauseIamAuth",
      "pauseWhenEnded",
      "splitIamOptions",
      "IAM_ONLY_OPTION_NAMES",
      "resolveTls",
      "parseEngine",
      "systemClock",
      "refusePacketDebug",
      "PG_CONNECTION_STRING",
      "MYSQL2_URI",
    ]) {
      expect(driver, name).toHaveProperty(name);
    }
  });

  it("repeats nothing of the public entry: each name has one home", () => {
    const publicNames = new Set(Object.keys(core));
    expect(Object.keys(driver).filter((name) => publicNames.has(name))).toEqual([]);
  });
});
