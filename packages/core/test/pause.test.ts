import { describe, expect, it } from "vitest";
import { createIamAuth } from "../src/iam-auth";
import { pauseIamAuth, pauseWhenEnded } from "../src/pause";
import { STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function provider(user: string) {
  let calls = 0;
  const credentials = async () => {
    calls++;
    return STATIC_CREDENTIALS;
  };
  const auth = createIamAuth({
    engine: "postgres",
    host: HOST,
    user,
    credentials,
    iamTokenExpiration: 1,
  });
  return { auth, calls: () => calls };
}

describe("pauseIamAuth", () => {
  it("stops background refreshes, and a later call still works (unlike close)", async () => {
    const { auth, calls } = provider("pause_app");
    await auth.getToken();
    await auth.getToken();
    pauseIamAuth(auth);
    await sleep(900);
    expect(calls()).toBe(1);
    await expect(auth.getToken()).resolves.toMatch(/X-Amz-Signature=/);
    auth.close();
  });

  it("leaves alone what is not a provider of ours", () => {
    expect(() => pauseIamAuth({} as never)).not.toThrow();
  });
});

describe("pauseWhenEnded", () => {
  it("pauses the provider when the pool ends, and ends the pool as before", async () => {
    const { auth, calls } = provider("ended_app");
    let ended = 0;
    const pool = pauseWhenEnded(
      {
        end(this: { name: string }, done?: () => void) {
          ended++;
          done?.();
          return this.name;
        },
        name: "pool",
      },
      auth,
    );
    await auth.getToken();
    await auth.getToken();
    let called = false;
    expect(pool.end(() => (called = true))).toBe("pool");
    expect({ ended, called }).toEqual({ ended: 1, called: true });
    await sleep(900);
    expect(calls()).toBe(1);
    auth.close();
  });
});
