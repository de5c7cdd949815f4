import { describe, expect, it } from "vitest";
import { createIamAuth } from "../src/iam-auth";
import { fakeClock, SESSION_CREDENTIALS, STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const MINUTE = 60_000;

describe("IamAuth.getTokenWithExpiry", () => {
  it("returns the cached token with the end of its hand-out window", async () => {
    const clock = fakeClock();
    const start = clock();
    const auth = createIamAuth({
      engine: "postgres",
      host: HOST,
      user: "app",
      credentials: STATIC_CREDENTIALS,
      clock,
      iamTokenExpiration: 600,
    });
    const first = await auth.getTokenWithExpiry();
    expect(first.expiresAt).toBe(start + 600_000);
    expect(first.token).toBe(await auth.getToken());

    clock.advance(5 * MINUTE);
    expect(await auth.getTokenWithExpiry()).toEqual(first);

    // Past the window, a new token with a window of its own.
    clock.advance(6 * MINUTE);
    const second = await auth.getTokenWithExpiry();
    expect(second.token).not.toBe(first.token);
    expect(second.expiresAt).toBe(clock() + 600_000);
    auth.close();
  });

  it("ends the window a minute before temporary credentials expire", async () => {
    const clock = fakeClock();
    const expiration = new Date(clock() + 10 * MINUTE);
    const auth = createIamAuth({
      engine: "mysql",
      host: HOST,
      user: "app",
      credentials: async () => ({ ...SESSION_CREDENTIALS, expiration }),
      clock,
    });
    const { expiresAt } = await auth.getTokenWithExpiry();
    expect(expiresAt).toBe(expiration.getTime() - MINUTE);
    auth.close();
  });

  it("fails like getToken() once closed", async () => {
    const auth = createIamAuth({
      engine: "postgres",
      host: HOST,
      user: "app",
      credentials: STATIC_CREDENTIALS,
    });
    auth.close();
    await expect(auth.getTokenWithExpiry()).rejects.toMatchObject({ code: "CLOSED" });
  });
});
