import { describe, expect, it } from "vitest";
import { createMariadbConnectionFactory } from "../src/mariadb-binding";
import { STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const iam = { host: HOST, user: "app", credentials: STATIC_CREDENTIALS };

describe("createMariadbConnectionFactory", () => {
  it("opens each connection with a current token", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const fake = {
      createConnection: async (config: Record<string, unknown>) => {
        seen.push(config);
        return { id: seen.length };
      },
    };
    // A user of its own: providers for the same user and keys share one cached token.
    const { connect, auth, config } = createMariadbConnectionFactory(fake, {
      ...iam,
      user: "orders_app",
      database: "orders",
    });
    await connect();
    await connect();
    expect(seen).toHaveLength(2);
    expect(seen[0]?.password).toBe(await auth.getToken());
    expect(config).not.toHaveProperty("password");
    expect(auth.stats().mints).toBe(1);
    auth.close();
  });

  it("retries once with a fresh token on an auth rejection, then gives up clearly", async () => {
    let calls = 0;
    const rejecting = {
      createConnection: async () => {
        calls++;
        throw Object.assign(
          new Error("Access denied for user 'app'@'10.0.0.1' (using password: YES)"),
          { errno: 1045, sqlState: "28000" },
        );
      },
    };
    const { connect, auth } = createMariadbConnectionFactory(rejecting, iam);
    await expect(connect()).rejects.toMatchObject({ code: "AUTH_REJECTED" });
    expect(calls).toBe(2);
    expect(auth.stats().invalidations).toBe(2);
    auth.close();
  });
});
