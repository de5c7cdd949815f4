import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it, vi } from "vitest";
import { observe, registerCredentials } from "../../../tests/support/secret-scan";
import {
  createCredentialProvider,
  credentialExpiry,
  credentialIdentityKey,
  resolveCredentials,
} from "../src/credentials";
import { isRdsIamError } from "../src/errors";

const CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
});
const SESSION = Object.freeze({
  accessKeyId: "ASIAEXAMPLECREDTEST1",
  secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+credentials+test",
});
registerCredentials(CREDENTIALS);
registerCredentials(SESSION);

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code: string; option: string };
  }
  throw new Error("expected a rejection");
};

describe("createCredentialProvider", () => {
  it("wraps static credentials in a provider that answers them", async () => {
    const provider = createCredentialProvider(CREDENTIALS, undefined);
    await expect(provider()).resolves.toBe(CREDENTIALS);
    await expect(provider({ forceRefresh: true })).resolves.toBe(CREDENTIALS);
  });

  it("uses static credentials whatever awsProfile says", async () => {
    await expect(createCredentialProvider(SESSION, "dev")()).resolves.toBe(SESSION);
  });

  it("returns a provider function as is: it is called, never wrapped", async () => {
    const own = vi.fn(async () => CREDENTIALS);
    const provider = createCredentialProvider(own, "dev");
    expect(provider).toBe(own);
    expect(own).not.toHaveBeenCalled();
  });
});

describe("resolveCredentials", () => {
  it("calls the provider plainly, or with forceRefresh", async () => {
    const provider = vi.fn(async (_props?: { forceRefresh?: boolean }) => CREDENTIALS);
    await expect(resolveCredentials(provider, false)).resolves.toBe(CREDENTIALS);
    expect(provider).toHaveBeenLastCalledWith();
    await resolveCredentials(provider, true);
    expect(provider).toHaveBeenLastCalledWith({ forceRefresh: true });
  });

  it("wraps a provider failure into CREDENTIALS_UNAVAILABLE naming credentials, the failure as cause", async () => {
    const failure = Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    });
    const error = await rejection(
      resolveCredentials(async () => {
        throw failure;
      }, false),
    );
    expect(isRdsIamError(error)).toBe(true);
    expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE", option: "credentials" });
    expect(error.cause).toBe(failure);
    expect(error.message).toBe(
      "Could not load AWS credentials: Could not load credentials from any providers. Check the credentials option, awsProfile, or the environment's credential source (env vars, SSO, web identity, ECS/EC2 metadata).",
    );
  });

  it("keeps a long failure message short", async () => {
    const error = await rejection(
      resolveCredentials(async () => {
        throw new Error("x".repeat(1000));
      }, false),
    );
    expect(error.message).toContain(`${"x".repeat(300)}...`);
    expect(error.message).not.toContain("x".repeat(301));
  });

  it("describes a thrown non-Error", async () => {
    const error = await rejection(
      resolveCredentials(async () => {
        throw "credential_process exited with 1";
      }, true),
    );
    expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE" });
    expect(error.message).toContain("credential_process exited with 1");
  });

  it("wraps a thrown value that cannot become a string", async () => {
    for (const thrown of [
      Object.create(null),
      {
        toString: () => {
          throw new Error("no");
        },
      },
    ]) {
      const error = await rejection(
        resolveCredentials(async () => {
          throw thrown;
        }, false),
      );
      expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE", option: "credentials" });
      expect(error.message).toContain("cannot be printed");
    }
  });

  it("names the caller's option and what to check", async () => {
    const error = await rejection(
      resolveCredentials(
        async () => {
          throw new Error("SSO session expired");
        },
        false,
        { option: "--profile", check: "the profile given with --profile" },
      ),
    );
    expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE", option: "--profile" });
    expect(error.message).toContain("Check the profile given with --profile.");
  });

  it.each([
    ["nothing", undefined],
    ["null", null],
    ["a string", "AKIDEXAMPLE"],
    ["no access key id", { secretAccessKey: CREDENTIALS.secretAccessKey }],
    ["an empty access key id", { ...CREDENTIALS, accessKeyId: "" }],
    ["no secret key", { accessKeyId: "AKIDEXAMPLE" }],
    ["an empty secret key", { ...CREDENTIALS, secretAccessKey: "" }],
    ["a non-string secret key", { accessKeyId: "AKIDEXAMPLE", secretAccessKey: 42 }],
    ["a session token only", { sessionToken: SESSION.sessionToken }],
  ])("refuses a provider answering %s, without echoing any of it", async (_name, answer) => {
    const error = await rejection(
      resolveCredentials(async () => answer as unknown as AwsCredentialIdentity, false),
    );
    expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE", option: "credentials" });
    expect(error.message).toContain("returned no accessKeyId/secretAccessKey");
    expect(error.cause).toBeUndefined();
    // Everything a user could print of the error: none of the secret material.
    const printed = observe("resolveCredentials refusal", error);
    expect(printed).not.toContain(CREDENTIALS.secretAccessKey);
    expect(printed).not.toContain(SESSION.sessionToken);
  });
});

describe("credentialIdentityKey", () => {
  it("is the access key id: public, and new whenever credentials are re-issued", () => {
    expect(credentialIdentityKey(CREDENTIALS)).toBe("AKIDEXAMPLE");
    const reissued = { ...SESSION, accessKeyId: "ASIAEXAMPLECREDTEST2" };
    expect(credentialIdentityKey(reissued)).not.toBe(credentialIdentityKey(SESSION));
  });

  it("holds no secret", () => {
    const key = credentialIdentityKey(SESSION);
    expect(key).not.toContain(SESSION.secretAccessKey);
    expect(key).not.toContain(SESSION.sessionToken);
  });
});

describe("credentialExpiry", () => {
  const at = Date.UTC(2026, 10, 24, 12, 0, 0);
  const expiring = (expiration: unknown) =>
    ({ ...SESSION, expiration }) as unknown as AwsCredentialIdentity;

  it("is undefined for long-term keys", () => {
    expect(credentialExpiry(CREDENTIALS)).toBeUndefined();
    expect(credentialExpiry(expiring(null))).toBeUndefined();
  });

  it("reads a Date, an ISO string or epoch milliseconds", () => {
    expect(credentialExpiry(expiring(new Date(at)))).toBe(at);
    expect(credentialExpiry(expiring(new Date(at).toISOString()))).toBe(at);
    expect(credentialExpiry(expiring(at))).toBe(at);
  });

  it("is undefined for an expiration that is no time", () => {
    expect(credentialExpiry(expiring(new Date(Number.NaN)))).toBeUndefined();
    expect(credentialExpiry(expiring("soon"))).toBeUndefined();
  });
});
