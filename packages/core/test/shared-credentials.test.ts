import { describe, expect, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../../../tests/support/aws-env";
import { chainCount, credentialSource } from "../src/shared-credentials";
import { SESSION_CREDENTIALS, STATIC_CREDENTIALS } from "./support";

describe("credentialSource", () => {
  it("shares one default chain per profile and environment", async () => {
    await withEnv(isolatedAwsEnv(), async () => {
      const a = credentialSource(undefined, undefined);
      const b = credentialSource(undefined, undefined);
      expect(a.key).toBe(b.key);
      expect(a.current()).toBe(b.current());
      const other = credentialSource(undefined, "reporting");
      expect(other.key).not.toBe(a.key);
      expect(other.current()).not.toBe(a.current());
      expect(credentialSource(undefined, "reporting").current()).toBe(other.current());
    });
  });

  it("gives a changed AWS_* environment a chain of its own (the chain reads it when created)", async () => {
    const before = await withEnv(isolatedAwsEnv(), async () =>
      credentialSource(undefined, undefined),
    );
    const after = await withEnv(
      isolatedAwsEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:9/creds" }),
      async () => credentialSource(undefined, undefined),
    );
    expect(after.key).not.toBe(before.key);
    expect(after.current()).not.toBe(before.current());
  });

  it("replaces a hung default chain for everyone sharing it, once", async () => {
    await withEnv(isolatedAwsEnv(), async () => {
      const a = credentialSource(undefined, "hung-profile");
      const b = credentialSource(undefined, "hung-profile");
      const hung = a.current();
      a.replaceHung(hung);
      const fresh = b.current();
      expect(fresh).not.toBe(hung);
      // A second abandoned attempt on the old chain must not replace the new one again.
      b.replaceHung(hung);
      expect(a.current()).toBe(fresh);
    });
  });

  it("shares a provider function by identity, and calls it again after a hang", () => {
    const provider = async () => STATIC_CREDENTIALS;
    const a = credentialSource(provider, undefined);
    expect(credentialSource(provider, undefined).key).toBe(a.key);
    expect(credentialSource(async () => STATIC_CREDENTIALS, undefined).key).not.toBe(a.key);
    a.replaceHung(provider);
    expect(a.current()).toBe(provider);
  });

  it("tells static credentials apart by every secret part, and never holds the secret", async () => {
    const a = credentialSource({ ...STATIC_CREDENTIALS }, undefined);
    expect(credentialSource({ ...STATIC_CREDENTIALS }, undefined).key).toBe(a.key);
    const wrongSecret = credentialSource(
      { ...STATIC_CREDENTIALS, secretAccessKey: `${STATIC_CREDENTIALS.secretAccessKey}x` },
      undefined,
    );
    expect(wrongSecret.key).not.toBe(a.key);
    const session = credentialSource(SESSION_CREDENTIALS, undefined);
    expect(
      credentialSource({ ...SESSION_CREDENTIALS, sessionToken: "other" }, undefined).key,
    ).not.toBe(session.key);
    for (const source of [a, wrongSecret, session]) {
      expect(source.key).not.toContain(STATIC_CREDENTIALS.secretAccessKey);
      expect(source.key).not.toContain(SESSION_CREDENTIALS.secretAccessKey);
      expect(source.key).not.toContain(SESSION_CREDENTIALS.sessionToken);
    }
    await expect(a.current()()).resolves.toEqual(STATIC_CREDENTIALS);
  });

  it("keeps a bounded number of default chains when AWS_* keys rotate through the environment", async () => {
    for (let i = 0; i < 40; i++) {
      await withEnv(
        isolatedAwsEnv({
          AWS_ACCESS_KEY_ID: `AKIDROTATE${i}`,
          AWS_SECRET_ACCESS_KEY: `secret${i}`,
        }),
        async () => credentialSource(undefined, undefined).current(),
      );
    }
    expect(chainCount()).toBeLessThanOrEqual(16);
  });
});
