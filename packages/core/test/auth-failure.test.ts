import { describe, expect, it } from "vitest";
import { isAuthFailure } from "../src/auth-failure";

describe("isAuthFailure", () => {
  it.each([
    [{ code: "28000", message: 'PAM authentication failed for user "app"' }],
    [{ code: "28P01", message: 'password authentication failed for user "app"' }],
    [{ message: 'PAM authentication failed for user "app"' }],
    [
      new Error("connect failed", {
        cause: { code: "28000", message: "PAM authentication failed" },
      }),
    ],
  ])("PostgreSQL rejection %#", (error) => {
    expect(isAuthFailure(error, "postgres")).toBe(true);
  });

  it.each([
    [
      {
        errno: 1045,
        code: "ER_ACCESS_DENIED_ERROR",
        sqlState: "28000",
        message: "Access denied for user 'app'@'10.0.0.1' (using password: YES)",
      },
    ],
    [{ errno: 1045 }],
    [{ code: "ER_ACCESS_DENIED_ERROR" }],
    [{ message: "wrapped", cause: { errno: 1045 } }],
  ])("MySQL rejection %#", (error) => {
    expect(isAuthFailure(error, "mysql")).toBe(true);
  });

  it.each([
    [
      {
        code: "28000",
        message:
          'no pg_hba.conf entry for host "10.0.0.1", user "app", database "db", no encryption',
      },
      "postgres",
    ],
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:5432" }, "postgres"],
    [{ code: "3D000", message: 'database "nope" does not exist' }, "postgres"],
    [{ errno: 1049, code: "ER_BAD_DB_ERROR" }, "mysql"],
    [{ errno: 1045 }, "postgres"],
    [{ code: "28000" }, "mysql"],
    [null, "postgres"],
    ["PAM authentication failed", "postgres"],
  ] as const)("not a token rejection %#", (error, engine) => {
    expect(isAuthFailure(error, engine)).toBe(false);
  });
});
