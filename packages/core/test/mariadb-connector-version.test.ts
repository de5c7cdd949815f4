import { describe, expect, it } from "vitest";
import {
  MARIADB_VERIFYING_VERSION,
  refuseUnverifyingMariadb,
} from "../src/mariadb-connector-version";

describe("refuseUnverifyingMariadb", () => {
  it.each(["3.5.1", "3.5.4", "3.6.0", "3.10.0", "4.0.0", "3.5.1-rc.1"])(
    "lets %s through",
    (version) => {
      expect(() => refuseUnverifyingMariadb({ version })).not.toThrow();
    },
  );

  it.each(["3.5.0", "3.4.5", "3.0.2", "2.5.6", "3.4.10"])(
    "refuses %s, which checks the certificate after the login",
    (version) => {
      expect(() => refuseUnverifyingMariadb({ version })).toThrow(
        expect.objectContaining({
          name: "RdsIamError",
          code: "TLS_VERIFICATION_FAILED",
          option: "mariadb",
          message: expect.stringContaining(`Install mariadb ${MARIADB_VERIFYING_VERSION} or later`),
        }),
      );
    },
  );

  it.each([
    ["no version", {}],
    ["a version that is not a string", { version: 354 }],
    ["no module", undefined],
    ["null", null],
  ])("refuses %s (the version decides, so unknown is refused)", (_name, module) => {
    expect(() => refuseUnverifyingMariadb(module)).toThrow(
      expect.objectContaining({ code: "TLS_VERIFICATION_FAILED", option: "mariadb" }),
    );
  });
});
