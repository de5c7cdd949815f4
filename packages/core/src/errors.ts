/**
 * Every failure this project raises on purpose. Codes are stable: match on `code`,
 * not on the message.
 */
export type RdsIamErrorCode =
  /** A required option is missing. `option` names it. */
  | "MISSING_OPTION"
  /** An option has the wrong type or an impossible value. `option` names it. */
  | "INVALID_OPTION"
  /** The host is an IP address or a custom domain, so `iamHost` must name the RDS endpoint. */
  | "IAM_HOST_REQUIRED"
  /** No region in the option, the hostname, the environment or the profile. */
  | "REGION_UNRESOLVED"
  /** Two options that cannot work together (e.g. a connection string and IAM). */
  | "CONFLICTING_OPTIONS"
  /** A token would have been sent without TLS to a host that is not loopback. */
  | "PLAINTEXT_REFUSED"
  /** The credential provider failed or returned nothing usable. */
  | "CREDENTIALS_UNAVAILABLE"
  /** The credentials expired before a token could be signed with them. */
  | "CREDENTIALS_EXPIRED"
  /** Signing failed for a reason other than credentials. */
  | "TOKEN_GENERATION_FAILED"
  /** The database rejected the token again after one retry with a fresh token. */
  | "AUTH_REJECTED"
  /** The token provider was closed. */
  | "CLOSED"
  /** Credentials or signing did not finish within `iamTimeout` (the attempt may still fill the cache for the next caller). */
  | "TIMEOUT"
  /** The server's TLS certificate is not verified or does not name the endpoint (`iamHost`). */
  | "TLS_VERIFICATION_FAILED"
  /** A file or directory we would write or trust can be changed by another local user. */
  | "INSECURE_PATH"
  /** The RDS API refused `DescribeGlobalClusters` (no `rds:DescribeGlobalClusters` permission, or credentials it does not accept). */
  | "GLOBAL_WRITER_ACCESS_DENIED"
  /** `DescribeGlobalClusters` knows no global cluster by the identifier in the global writer endpoint. */
  | "GLOBAL_CLUSTER_NOT_FOUND"
  /** The writer of a global cluster could not be looked up: the RDS API unreachable or failing, or no member is the writer. */
  | "GLOBAL_WRITER_LOOKUP_FAILED";

const BRAND = Symbol.for("@rds-iam/core.RdsIamError");

/** Extra context for an {@link RdsIamError}. Never put a token or a secret here. */
export interface RdsIamErrorDetails {
  /** The option at fault, in the user's own spelling (e.g. `iamHost`). */
  readonly option?: string;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * The one error class of this project. Messages name the option, the bad value
 * (never a secret) and the fix.
 */
export class RdsIamError extends Error {
  /** What went wrong, stable across versions: match on this, not on the message. */
  readonly code: RdsIamErrorCode;
  /** The option at fault, in the user's own spelling; `undefined` when no option is. */
  readonly option: string | undefined;

  constructor(code: RdsIamErrorCode, message: string, details: RdsIamErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RdsIamError";
    this.code = code;
    this.option = details.option;
    // A brand survives where `instanceof` does not: CJS and ESM copies of this
    // package loaded side by side each have their own class object.
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for an {@link RdsIamError} from any copy of this package (CJS or ESM). */
export function isRdsIamError(error: unknown): error is RdsIamError {
  return (
    error instanceof RdsIamError ||
    (typeof error === "object" &&
      error !== null &&
      (error as Record<symbol, unknown>)[BRAND] === true)
  );
}
