import { isRdsIamError, type RdsIamErrorCode } from "@rds-iam/core";
import { expect } from "vitest";
import { findLeaks, observe, registerCredentials, registerSecret } from "../../support/secret-scan";

/** Credentials with a recognisable secret: any echo of them in an error is a leak. */
export const SECRET_CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDBADINPUT00000001",
  secretAccessKey: "bAdInPuT/s3cr3tK3y+NeverPrintThis0123456",
  sessionToken: "IQoJb3JpZ2luX2VjBadInputSessionTokenThatMustNeverAppear0123456789",
});
registerCredentials(SECRET_CREDENTIALS);

/** A token-shaped value (signed by nobody) that users might paste as a password or in a URL. */
export const TOKEN_LIKE =
  "mydb.cluster-abc123.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDBADINPUT00000001%2F20261124%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20261124T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=5f1c0d7a2b9e8f6c4d3a1b0e9f8c7d6e5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";
registerSecret(TOKEN_LIKE);

/** One row of the bad-input table. */
export interface BadInputCase {
  readonly name: string;
  /** Throws (or rejects with) the error under test. */
  readonly run: () => unknown;
  readonly code: RdsIamErrorCode;
  /** The option the error must name, in the user's spelling. */
  readonly option: string;
  /**
   * Whether the message spells the option out too. Default true; false only where
   * core's message is known not to (reported, see docs/reliability.md).
   */
  readonly messageNamesOption?: boolean;
}

/**
 * Runs a bad-input case: it must fail with an `RdsIamError` of the stable `code`,
 * whose `option` and message name the option, and whose message, stack, cause chain,
 * `util.inspect` and `JSON.stringify` hold no token or secret.
 */
export async function expectBadInput(row: BadInputCase): Promise<void> {
  let error: unknown;
  try {
    await row.run();
  } catch (caught) {
    error = caught;
  }
  expect(error, `${row.name}: no error`).toBeDefined();
  expect(isRdsIamError(error), `${row.name}: not an RdsIamError: ${String(error)}`).toBe(true);
  expect(error).toMatchObject({ code: row.code, option: row.option });
  if (row.messageNamesOption !== false) expect((error as Error).message).toContain(row.option);
  const text = observe(`bad input: ${row.name}`, error);
  expect(findLeaks([{ source: row.name, text }], { secretKeyShape: true })).toEqual([]);
}
