import { describe, expect, it } from "vitest";
import { mysql2AuthPlugins, mysql2IamConfig } from "../src/mysql2-binding";
import { STATIC_CREDENTIALS, tlsStream } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const iam = { host: HOST, user: "app", credentials: STATIC_CREDENTIALS };

describe("mysql2 bindings", () => {
  it("answers mysql_clear_password with token + NUL over TLS, and refuses plaintext", async () => {
    const { config, auth } = mysql2IamConfig({ ...iam, database: "orders" });
    expect(config).toMatchObject({ host: HOST, port: 3306, user: "app", database: "orders" });
    expect(config.ssl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true });
    const plugins = config.authPlugins as ReturnType<typeof mysql2AuthPlugins>;
    const overTls = await plugins.mysql_clear_password({
      connection: { stream: tlsStream([HOST]) },
    })(Buffer.alloc(0));
    expect(overTls.endsWith("\0")).toBe(true);
    expect(overTls.slice(0, -1)).toBe(await auth.getToken());
    await expect(
      plugins.mysql_clear_password({ connection: { stream: {} } })(Buffer.alloc(0)),
    ).rejects.toMatchObject({
      code: "PLAINTEXT_REFUSED",
    });
    auth.close();
  });

  it("refuses a peer whose chain was not verified or whose certificate names another host", async () => {
    const { config, auth } = mysql2IamConfig({
      ...iam,
      host: "127.0.0.1",
      iamHost: HOST,
      ssl: { ca: "PEM" },
    });
    const plugins = config.authPlugins as ReturnType<typeof mysql2AuthPlugins>;
    const mysql2Config = { host: config.host, ssl: config.ssl };
    const answer = (stream: ReturnType<typeof tlsStream>, seen = mysql2Config) =>
      plugins.mysql_clear_password({ connection: { stream, config: seen } })(Buffer.alloc(0));
    await expect(answer(tlsStream(["attacker.example", "127.0.0.1"]))).rejects.toMatchObject({
      code: "TLS_VERIFICATION_FAILED",
      option: "iamHost",
    });
    await expect(answer(tlsStream([HOST], { authorized: false }))).rejects.toMatchObject({
      code: "TLS_VERIFICATION_FAILED",
      option: "ssl",
    });
    expect(auth.stats().mints).toBe(0);
    expect((await answer(tlsStream([HOST]))).endsWith("\0")).toBe(true);
    // A resumed session shows no certificate: accepted only because mysql2 checked
    // the name itself (host is the endpoint, verifyIdentity on), as the config says.
    expect(config.host).toBe(HOST);
    expect((await answer(tlsStream([], { reused: true }))).endsWith("\0")).toBe(true);
    for (const seen of [
      { host: "127.0.0.1", ssl: config.ssl },
      { host: HOST, ssl: { ...(config.ssl as object), verifyIdentity: false } },
    ]) {
      await expect(answer(tlsStream([], { reused: true }), seen)).rejects.toMatchObject({
        code: "TLS_VERIFICATION_FAILED",
      });
    }
    // rejectUnauthorized: false is the explicit opt-out of all checks.
    expect(
      (
        await answer(tlsStream(["other.example"], { authorized: false }), {
          host: HOST,
          ssl: { rejectUnauthorized: false },
        })
      ).endsWith("\0"),
    ).toBe(true);
    auth.close();
  });

  it("keeps our error code although mysql2 overwrites the code of a plugin's error", async () => {
    const plugins = mysql2AuthPlugins({ target: { iamHost: HOST, host: HOST } } as never, {});
    const error = await plugins
      .mysql_clear_password({ connection: { stream: tlsStream(["other.example"]) } })(
        Buffer.alloc(0),
      )
      .catch((e: unknown) => e as { code: string });
    // What mysql2's auth_switch does to it.
    (error as { code: string }).code = "AUTH_SWITCH_PLUGIN_ERROR";
    expect((error as { code: string }).code).toBe("TLS_VERIFICATION_FAILED");
  });

  it("keeps other auth plugins the user configured", () => {
    const other = () => async () => "x";
    const { config, auth } = mysql2IamConfig({ ...iam, authPlugins: { other } });
    expect((config.authPlugins as Record<string, unknown>).other).toBe(other);
    auth.close();
  });
});
