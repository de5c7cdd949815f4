import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { isRdsIamError, type RdsIamErrorCode } from "../src/errors";
import { type IamAuthOptions, resolveIamOptions } from "../src/options";
import { STATIC_CREDENTIALS } from "./support";

const RDS = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const base: IamAuthOptions = { engine: "postgres", host: RDS, user: "app" };

function regionEnv(env: Record<string, string | undefined>) {
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"]) {
    vi.stubEnv(name, env[name] ?? "");
  }
}

describe("resolveIamOptions", () => {
  beforeEach(() => {
    // No ambient region unless a test sets one; no real ~/.aws/config.
    regionEnv({ AWS_CONFIG_FILE: join(tmpdir(), "rds-iam-no-such-config") });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("defaults everything from an RDS hostname, frozen", () => {
    const resolved = resolveIamOptions(base);
    expect(resolved).toMatchObject({
      engine: "postgres",
      host: RDS,
      port: 5432,
      user: "app",
      iamHost: RDS,
      iamDefaultPort: 5432,
      region: "us-east-1",
      regionSource: "hostname",
      iamTokenExpiration: 870,
      customClock: false,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(resolveIamOptions({ ...base, engine: "mariadb" }).port).toBe(3306);
  });

  it("signs for iamHost and iamDefaultPort when connecting through a tunnel", () => {
    const resolved = resolveIamOptions({
      ...base,
      host: "127.0.0.1",
      port: 15432,
      iamHost: "MyDB.cluster-abc123.eu-west-1.rds.amazonaws.com.",
      iamDefaultPort: 5432,
    });
    expect(resolved.port).toBe(15432);
    expect(resolved.iamHost).toBe("mydb.cluster-abc123.eu-west-1.rds.amazonaws.com");
    expect(resolved.iamDefaultPort).toBe(5432);
    expect(resolved.region).toBe("eu-west-1");
  });

  it("signs for the connection port when iamDefaultPort is absent", () => {
    expect(resolveIamOptions({ ...base, port: "6543" }).iamDefaultPort).toBe(6543);
  });

  it("prefers iamRegion, then the hostname, then the environment, then the profile", () => {
    expect(resolveIamOptions({ ...base, iamRegion: "eu-central-1" }).regionSource).toBe(
      "iamRegion",
    );
    regionEnv({ AWS_REGION: "ap-south-1", AWS_DEFAULT_REGION: "sa-east-1" });
    expect(resolveIamOptions(base).region).toBe("us-east-1");
    const custom = { ...base, host: "db.example.com", iamHost: "db.example.com" };
    expect(resolveIamOptions(custom)).toMatchObject({
      region: "ap-south-1",
      regionSource: "AWS_REGION",
    });
    regionEnv({ AWS_DEFAULT_REGION: "sa-east-1" });
    expect(resolveIamOptions(custom)).toMatchObject({
      region: "sa-east-1",
      regionSource: "AWS_DEFAULT_REGION",
    });

    const dir = mkdtempSync(join(tmpdir(), "rds-iam-config-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "config");
    writeFileSync(
      file,
      "[default]\nregion = us-west-1\n\n[profile reporting]\noutput=json\nregion=ca-central-1\n",
    );
    regionEnv({ AWS_CONFIG_FILE: file });
    expect(resolveIamOptions(custom)).toMatchObject({
      region: "us-west-1",
      regionSource: "profile",
    });
    expect(resolveIamOptions({ ...custom, awsProfile: "reporting" }).region).toBe("ca-central-1");
    regionEnv({ AWS_CONFIG_FILE: file, AWS_PROFILE: "reporting" });
    expect(resolveIamOptions(custom).region).toBe("ca-central-1");
  });

  const failures: Array<
    [string, Partial<IamAuthOptions> | Record<string, unknown>, RdsIamErrorCode, string]
  > = [
    ["missing engine", { engine: undefined }, "MISSING_OPTION", "engine"],
    ["unknown engine", { engine: "oracle" }, "INVALID_OPTION", "engine"],
    ["missing host", { host: undefined }, "MISSING_OPTION", "host"],
    ["non-string host", { host: 42 }, "INVALID_OPTION", "host"],
    ["blank host", { host: "   " }, "INVALID_OPTION", "host"],
    ["missing user", { user: undefined }, "MISSING_OPTION", "user"],
    ["empty user", { user: "" }, "MISSING_OPTION", "user"],
    ["port 0", { port: 0 }, "INVALID_OPTION", "port"],
    ["port 70000", { port: 70000 }, "INVALID_OPTION", "port"],
    ["port 5432.5", { port: 5432.5 }, "INVALID_OPTION", "port"],
    ["port 'abc'", { port: "abc" }, "INVALID_OPTION", "port"],
    ["iamDefaultPort -1", { iamDefaultPort: -1 }, "INVALID_OPTION", "iamDefaultPort"],
    ["IP host without iamHost", { host: "10.1.2.3" }, "IAM_HOST_REQUIRED", "iamHost"],
    ["IPv6 host without iamHost", { host: "[2001:db8::1]" }, "IAM_HOST_REQUIRED", "iamHost"],
    ["custom domain without iamHost", { host: "db.example.com" }, "IAM_HOST_REQUIRED", "iamHost"],
    ["localhost without iamHost", { host: "localhost" }, "IAM_HOST_REQUIRED", "iamHost"],
    ["iamHost is an IP", { iamHost: "10.1.2.3" }, "INVALID_OPTION", "iamHost"],
    ["iamHost empty", { iamHost: "" }, "INVALID_OPTION", "iamHost"],
    [
      "custom iamHost and no region",
      { iamHost: "db.example.com" },
      "REGION_UNRESOLVED",
      "iamRegion",
    ],
    [
      "global endpoint and no region",
      { host: "g.global-abc.global.rds.amazonaws.com" },
      "REGION_UNRESOLVED",
      "iamRegion",
    ],
    ["iamRegion with spaces", { iamRegion: "us east 1" }, "INVALID_OPTION", "iamRegion"],
    ["iamTokenExpiration 901", { iamTokenExpiration: 901 }, "INVALID_OPTION", "iamTokenExpiration"],
    ["iamTokenExpiration 0", { iamTokenExpiration: 0 }, "INVALID_OPTION", "iamTokenExpiration"],
    [
      "iamTokenExpiration '600'",
      { iamTokenExpiration: "600" },
      "INVALID_OPTION",
      "iamTokenExpiration",
    ],
    [
      "iamTokenExpiration NaN",
      { iamTokenExpiration: Number.NaN },
      "INVALID_OPTION",
      "iamTokenExpiration",
    ],
    [
      "credentials without secret",
      { credentials: { accessKeyId: "AKID" } },
      "INVALID_OPTION",
      "credentials",
    ],
    ["credentials as a string", { credentials: "AKID:secret" }, "INVALID_OPTION", "credentials"],
    ["awsProfile empty", { awsProfile: "" }, "INVALID_OPTION", "awsProfile"],
    ["clock not a function", { clock: 5 }, "INVALID_OPTION", "clock"],
  ];

  it.each(failures)("%s -> %s naming %s", (_label, patch, code, option) => {
    let caught: unknown;
    try {
      resolveIamOptions({ ...base, ...patch } as IamAuthOptions);
    } catch (error) {
      caught = error;
    }
    expect(isRdsIamError(caught)).toBe(true);
    const error = caught as { code: string; option: string; message: string };
    expect(error.code).toBe(code);
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
  });

  it("names the adapter's own spelling of an option", () => {
    expect(() => resolveIamOptions({ ...base, user: "" }, { user: "username" })).toThrow(
      /username is required/,
    );
  });

  it("never shows the credentials' secrets when the resolved options are printed", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY";
    const sessionToken = "IQoJb3JpZ2luX2VjEOPTIONStestSESSIONtoken==";
    const resolved = resolveIamOptions({
      ...base,
      credentials: { accessKeyId: "ASIAOPTIONSTEST", secretAccessKey: secret, sessionToken },
    });
    // Still there for whoever needs them.
    expect(resolved.credentials).toMatchObject({ secretAccessKey: secret, sessionToken });
    const printed = [
      inspect(resolved),
      inspect(resolved, { showHidden: true, depth: 10, getters: true }),
      JSON.stringify(resolved),
      String(resolved),
      inspect({ nested: [resolved] }, { depth: 10 }),
    ];
    for (const text of printed) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(sessionToken);
    }
    expect(JSON.parse(JSON.stringify(resolved))).toMatchObject({
      iamHost: RDS,
      credentials: "[temporary credentials for access key ASIAOPTIONSTEST]",
    });
    expect(inspect(resolved)).toContain("region: 'us-east-1'");
    const provided = resolveIamOptions({ ...base, credentials: async () => STATIC_CREDENTIALS });
    expect(JSON.stringify(provided)).toContain('"credentials":"[credential provider]"');
    expect(JSON.stringify(resolveIamOptions(base))).not.toContain("credentials");
  });

  it("never echoes a secret key in an error", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY";
    try {
      resolveIamOptions({ ...base, credentials: { accessKeyId: "", secretAccessKey: secret } });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain(secret);
      expect(JSON.stringify(error)).not.toContain(secret);
    }
  });

  it("rejects a non-object", () => {
    expect(() => resolveIamOptions(undefined as unknown as IamAuthOptions)).toThrow(
      /must be an object/,
    );
  });

  it("keeps credentials it was given (a snapshot of static ones, a provider as is)", () => {
    expect(resolveIamOptions({ ...base, credentials: STATIC_CREDENTIALS }).credentials).toEqual(
      STATIC_CREDENTIALS,
    );
    const provider = async () => STATIC_CREDENTIALS;
    expect(resolveIamOptions({ ...base, credentials: provider }).credentials).toBe(provider);
  });
});
