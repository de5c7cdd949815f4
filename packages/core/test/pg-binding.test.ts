import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { pgIamConfig } from "../src/pg-binding";
import { STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const iam = { host: HOST, user: "app", credentials: STATIC_CREDENTIALS };

describe("pgIamConfig", () => {
  it("passes driver options through and adds a password function and TLS", async () => {
    const { config, auth } = pgIamConfig({
      ...iam,
      database: "orders",
      max: 5,
      iamRegion: "us-east-1",
    });
    expect(config).toMatchObject({
      host: HOST,
      port: 5432,
      user: "app",
      database: "orders",
      max: 5,
    });
    expect(config).not.toHaveProperty("iamRegion");
    expect(config).not.toHaveProperty("credentials");
    expect(typeof config.password).toBe("function");
    expect(await config.password()).toContain(`${HOST}:5432/?Action=connect`);
    expect(auth.stats().mints).toBe(1);
    auth.close();
  });

  it("refuses a connection string or a static password", () => {
    expect(() => pgIamConfig({ ...iam, connectionString: "postgres://app@host/db" })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "connectionString" }),
    );
    expect(() => pgIamConfig({ ...iam, password: "hunter2" })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "password" }),
    );
    try {
      pgIamConfig({ ...iam, password: "hunter2" });
    } catch (error) {
      expect(String(error)).not.toContain("hunter2");
    }
  });

  it("never shows the token when the config is inspected or serialised", async () => {
    const { config, auth } = pgIamConfig(iam);
    const token = await auth.getToken();
    expect(inspect(config, { depth: 5 })).not.toContain(token);
    expect(JSON.stringify(config)).not.toContain(token);
    auth.close();
  });
});
