import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { RdsIamError } from "./errors";
import type { CredentialsOption } from "./options";

/**
 * One provider for the life of a token provider (until it hangs, see
 * {@link replaceHungProvider}). The default chain memoizes and refreshes on its own,
 * so reusing it is what keeps a cold burst to one resolution.
 */
export function createCredentialProvider(
  credentials: CredentialsOption | undefined,
  awsProfile: string | undefined,
): AwsCredentialIdentityProvider {
  if (typeof credentials === "function") return credentials;
  if (credentials !== undefined) {
    const identity = credentials;
    return async () => identity;
  }
  return fromNodeProviderChain(awsProfile === undefined ? {} : { profile: awsProfile });
}

/**
 * The provider to use after an attempt on `hung` was abandoned (10 x `iamTimeout`).
 *
 * The default chain memoizes its pending resolution and makes every later call wait
 * on it, `forceRefresh` included: asking it again would join the same silent request
 * or the same child process that never exits. So a chain we created is dropped (its
 * late answer goes nowhere) and a fresh one created, which asks the source anew.
 * A caller's own provider function cannot be re-created: it is returned as is and
 * called again. Static credentials resolve at once and never get here.
 */
export function replaceHungProvider(
  credentials: CredentialsOption | undefined,
  awsProfile: string | undefined,
  hung: AwsCredentialIdentityProvider,
): AwsCredentialIdentityProvider {
  return credentials === undefined ? createCredentialProvider(undefined, awsProfile) : hung;
}

/** How a caller names where credentials come from, for the advice in errors. */
export interface CredentialSourceNames {
  /** The option at fault (default `credentials`; the CLI says `--profile`). */
  readonly option: string;
  /** What to check (default: the credentials option, awsProfile, or the environment). */
  readonly check: string;
}

const LIBRARY_NAMES: CredentialSourceNames = {
  option: "credentials",
  check:
    "the credentials option, awsProfile, or the environment's credential source (env vars, SSO, web identity, ECS/EC2 metadata)",
};

/**
 * Calls the provider and checks what comes back. Failures become
 * `CREDENTIALS_UNAVAILABLE` with the SDK error as `cause` (SDK credential errors
 * carry no secret material).
 */
export async function resolveCredentials(
  provider: AwsCredentialIdentityProvider,
  forceRefresh: boolean,
  names: CredentialSourceNames = LIBRARY_NAMES,
): Promise<AwsCredentialIdentity> {
  let identity: AwsCredentialIdentity | undefined;
  try {
    identity = forceRefresh ? await provider({ forceRefresh: true }) : await provider();
  } catch (error) {
    throw new RdsIamError(
      "CREDENTIALS_UNAVAILABLE",
      `Could not load AWS credentials: ${safeMessage(error)}. Check ${names.check}.`,
      { option: names.option, cause: error },
    );
  }
  if (
    typeof identity !== "object" ||
    identity === null ||
    typeof identity.accessKeyId !== "string" ||
    typeof identity.secretAccessKey !== "string" ||
    identity.accessKeyId === "" ||
    identity.secretAccessKey === ""
  ) {
    throw new RdsIamError(
      "CREDENTIALS_UNAVAILABLE",
      `The credentials provider returned no accessKeyId/secretAccessKey. Check ${names.check}: a provider must resolve to { accessKeyId, secretAccessKey, sessionToken? }.`,
      { option: names.option },
    );
  }
  return identity;
}

/**
 * Identifies credentials without revealing them: the access key id is not a
 * secret, and it changes whenever temporary credentials are re-issued.
 */
export function credentialIdentityKey(identity: AwsCredentialIdentity): string {
  return identity.accessKeyId;
}

/** Epoch ms at which the credentials stop working, or `undefined` for long-term keys. */
export function credentialExpiry(identity: AwsCredentialIdentity): number | undefined {
  const expiration = identity.expiration as Date | string | number | undefined;
  if (expiration === undefined || expiration === null) return undefined;
  const ms = expiration instanceof Date ? expiration.getTime() : new Date(expiration).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

function safeMessage(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? String(error.message) : String(error);
  } catch {
    // A thrown value that cannot become a string (Object.create(null), a hostile toString).
    message = "the provider threw a value that cannot be printed";
  }
  // Credential errors describe sources, not secrets; keep them short regardless.
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}
