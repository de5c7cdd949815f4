import { afterAll, describe, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../../support/aws-env";
import { assertNoLeaks } from "../../support/secret-scan";
import { type BadInputCase, expectBadInput, SECRET_CREDENTIALS, TOKEN_LIKE } from "./bad-input";

/** The RDS endpoint the bad-input rows pretend to reach (nothing connects). */
export const BAD_INPUT_HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

/** Options that would be valid but for the one mistake each row makes. */
export const BAD_INPUT_BASE = Object.freeze({
  host: BAD_INPUT_HOST,
  user: "app",
  database: "app",
  credentials: SECRET_CREDENTIALS,
});

/** A driver package under test: its factory, and what it calls what it returns. */
export interface DriverPackage {
  /** Prefix of each row's name (`pg`, `mysql2`, `postgres.js`). */
  readonly label: string;
  readonly engine: "postgres" | "mysql";
  /** The package's factory, given anything. */
  create(options: unknown): unknown;
  /** The package's `iamAuthOf`. */
  iamAuthOf(object: object): unknown;
  /** How `iamAuthOf` names its argument (`pool`, `sql`). */
  readonly objectName: string;
}

/**
 * The mistakes every driver package must refuse the same way, before anything
 * connects: not an object, no user, a static password, a misspelt IAM option, the
 * other engine, plaintext to a remote host, someone else's object.
 */
export function commonBadInput(pkg: DriverPackage): BadInputCase[] {
  const create = (options: Record<string, unknown>) =>
    pkg.create({ ...BAD_INPUT_BASE, ...options });
  return [
    {
      name: `${pkg.label}: options not an object`,
      run: () => pkg.create(`${pkg.engine}://x`),
      code: "INVALID_OPTION",
      option: "options",
    },
    {
      name: `${pkg.label}: missing user`,
      run: () => create({ user: undefined }),
      code: "MISSING_OPTION",
      option: "user",
    },
    {
      name: `${pkg.label}: a static password`,
      run: () => create({ password: TOKEN_LIKE }),
      code: "CONFLICTING_OPTIONS",
      option: "password",
    },
    {
      name: `${pkg.label}: a misspelt IAM option`,
      run: () => create({ iamRegoin: "us-east-1" }),
      code: "INVALID_OPTION",
      option: "iamRegoin",
    },
    {
      name: `${pkg.label}: the other engine`,
      run: () => create({ engine: pkg.engine === "postgres" ? "mysql" : "postgres" }),
      code: "CONFLICTING_OPTIONS",
      option: "engine",
    },
    {
      name: `${pkg.label}: plaintext to a remote host`,
      run: () => create({ ssl: false, iamAllowPlaintext: true }),
      code: "PLAINTEXT_REFUSED",
      option: "ssl",
    },
    {
      name: `${pkg.label}: not made by this package`,
      run: () => pkg.iamAuthOf({}),
      code: "INVALID_OPTION",
      option: pkg.objectName,
    },
  ];
}

/** The bad-input table of one package: each row a typed error, nothing leaked. */
export function describeBadInput(title: string, cases: readonly BadInputCase[]): void {
  describe(title, () => {
    afterAll(() => {
      assertNoLeaks({ secretKeyShape: true });
    });
    it.each(cases)("$name -> $code naming $option", async (row) => {
      await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
    });
  });
}
