import { createHash } from "node:crypto";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { createCredentialProvider } from "./credentials";
import type { CredentialsOption } from "./options";

/**
 * Where a token source gets its credentials, shared per process: every provider on
 * the default chain with the same `awsProfile` (and the same `AWS_*` environment) asks one chain (which memoizes and
 * refreshes), so many ORM objects cost one credential request per credential lifetime,
 * not one each. A provider function of the caller's is shared by identity; static
 * credentials by the key they are (access key id plus a digest of the secret parts).
 */
export interface CredentialSource {
  /**
   * Identifies the source among token sources. Never printed or serialized: for static
   * credentials it holds a SHA-256 digest of the secret key and session token.
   */
  readonly key: string;
  /** The provider to start an attempt with. */
  current(): AwsCredentialIdentityProvider;
  /**
   * An attempt on `hung` was abandoned (10 x `iamTimeout`). The default chain memoizes
   * its pending resolution, so asking it again would join the same silent request or
   * the same child process that never exits: a chain of ours is replaced (for every
   * provider that shares it) unless another attempt replaced it already. A caller's own
   * function cannot be re-created and is simply called again.
   */
  replaceHung(hung: AwsCredentialIdentityProvider): void;
}

/** One default chain per profile key (`undefined` profile: whatever `AWS_PROFILE` says). */
const chains = new Map<string, AwsCredentialIdentityProvider>();
/**
 * Chains kept: a process that rotates keys through `AWS_*` variables makes a new key
 * each time, and each chain holds its memoized credentials. The oldest go first; a
 * token source that still uses one keeps it until its next attempt.
 */
const MAX_CHAINS = 16;
/** Ids for caller-provided functions, without keeping them alive. */
const functionIds = new WeakMap<object, number>();
let nextFunctionId = 1;

/** The process's credential source for a `credentials` / `awsProfile` pair. */
export function credentialSource(
  credentials: CredentialsOption | undefined,
  awsProfile: string | undefined,
): CredentialSource {
  if (typeof credentials === "function") {
    let id = functionIds.get(credentials);
    if (id === undefined) {
      id = nextFunctionId++;
      functionIds.set(credentials, id);
    }
    return { key: `function:${id}`, current: () => credentials, replaceHung: () => {} };
  }
  if (credentials !== undefined) {
    const provider = createCredentialProvider(credentials, undefined);
    return { key: staticKey(credentials), current: () => provider, replaceHung: () => {} };
  }
  // The chain reads the environment when it is created (AWS_PROFILE, the container and
  // metadata endpoints, web identity, ...): one chain per profile and per AWS_* setting.
  const profile = `${awsProfile === undefined ? "\0AWS_PROFILE" : `profile:${awsProfile}`}\0${environmentDigest()}`;
  return {
    key: `chain:${profile}`,
    current: () => {
      let chain = chains.get(profile);
      if (chain === undefined) {
        chain = createCredentialProvider(undefined, awsProfile);
      }
      remember(profile, chain);
      return chain;
    },
    replaceHung: (hung) => {
      if (chains.get(profile) === hung) {
        remember(profile, createCredentialProvider(undefined, awsProfile));
      }
    },
  };
}

/** Stores `chain` as the most recently used, forgetting the oldest beyond the bound. */
function remember(profile: string, chain: AwsCredentialIdentityProvider): void {
  chains.delete(profile);
  chains.set(profile, chain);
  for (const oldest of chains.keys()) {
    if (chains.size <= MAX_CHAINS) return;
    chains.delete(oldest);
  }
}

/** A digest of every `AWS_*` environment variable (secret ones included, hence hashed). */
function environmentDigest(): string {
  const hash = createHash("sha256");
  for (const name of Object.keys(process.env).sort()) {
    if (name.startsWith("AWS_")) hash.update(`${name}=${process.env[name] ?? ""}\0`);
  }
  return hash.digest("base64url");
}

function staticKey(identity: AwsCredentialIdentity): string {
  // The access key id is public; the digest tells apart a wrong secret for the same key.
  const digest = createHash("sha256")
    .update(identity.secretAccessKey)
    .update("\0")
    .update(identity.sessionToken ?? "")
    .digest("base64url");
  return JSON.stringify(["static", identity.accessKeyId, digest]);
}

/** Forgets the shared default chains (tests that change the environment between cases). */
export function resetSharedCredentials(): void {
  chains.clear();
}

/** How many default chains the process keeps now (for tests of the bound). */
export function chainCount(): number {
  return chains.size;
}
