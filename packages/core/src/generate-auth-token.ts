import { formatUrl } from "@aws-sdk/core/util";
import { Signer } from "@aws-sdk/rds-signer";
import { Sha256 } from "@smithy/core/checksum";
import { HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import type { CredentialsOption } from "./options";

/** What one token is signed for, and with what. */
export interface GenerateAuthTokenParams {
  /** The RDS endpoint hostname (the signed `host` header is `hostname:port`). */
  readonly hostname: string;
  /** The port the token is signed for (part of the signed `host` header). */
  readonly port: number;
  /** The database user (`DBUser`). */
  readonly username: string;
  /** The region the token is signed for (`us-east-1`, ...). */
  readonly region: string;
  /** Static credentials or a provider. Default: the AWS SDK's node provider chain. */
  readonly credentials?: CredentialsOption | undefined;
  /**
   * Sign as of this moment instead of now. For simulations with an injected clock;
   * production leaves it unset.
   */
  readonly signingDate?: Date | undefined;
}

/** Tokens are always presigned for the 900 s RDS allows; the cache decides how long to use them. */
const TOKEN_EXPIRES_IN_SECONDS = 900;

/**
 * Mints one IAM authentication token, with no cache: exactly what
 * `@aws-sdk/rds-signer` produces (and `aws rds generate-db-auth-token` prints).
 */
export async function generateAuthToken(params: GenerateAuthTokenParams): Promise<string> {
  if (params.signingDate === undefined) {
    const signer = new Signer({
      hostname: params.hostname,
      port: params.port,
      username: params.username,
      region: params.region,
      ...(params.credentials === undefined ? {} : { credentials: params.credentials }),
    });
    return signer.getAuthToken();
  }
  return signAt(params, params.signingDate);
}

// The signer cannot be told what time it is, so a simulated clock signs with the
// same SigV4 implementation and the same request shape the signer uses.
async function signAt(params: GenerateAuthTokenParams, signingDate: Date): Promise<string> {
  if (params.credentials === undefined) {
    throw new TypeError("signingDate needs explicit credentials");
  }
  const signer = new SignatureV4({
    service: "rds-db",
    region: params.region,
    credentials: params.credentials,
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: "GET",
    protocol: "https:",
    hostname: params.hostname,
    port: params.port,
    query: { Action: "connect", DBUser: params.username },
    headers: { host: `${params.hostname}:${params.port}` },
  });
  const presigned = await signer.presign(request, {
    expiresIn: TOKEN_EXPIRES_IN_SECONDS,
    signingDate,
  });
  return formatUrl(presigned).replace("https://", "");
}
