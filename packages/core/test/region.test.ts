import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { regionFromEnvironment } from "../src/region";

const dir = mkdtempSync(join(tmpdir(), "rds-iam-region-"));
let files = 0;

/** An environment whose shared config file holds `text` (and nothing else from this machine). */
function withConfig(text: string, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const file = join(dir, `config-${files++}`);
  writeFileSync(file, text);
  return { AWS_CONFIG_FILE: file, ...env };
}

const NO_CONFIG: NodeJS.ProcessEnv = { AWS_CONFIG_FILE: join(dir, "does-not-exist") };

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("regionFromEnvironment", () => {
  it("takes AWS_REGION first, trimmed", () => {
    const env = withConfig("[default]\nregion = eu-west-1\n", {
      AWS_REGION: " us-east-2 ",
      AWS_DEFAULT_REGION: "ap-south-1",
    });
    expect(regionFromEnvironment(undefined, env)).toEqual({
      region: "us-east-2",
      source: "AWS_REGION",
    });
  });

  it("then AWS_DEFAULT_REGION (a blank AWS_REGION does not count)", () => {
    const env = withConfig("[default]\nregion = eu-west-1\n", {
      AWS_REGION: "  ",
      AWS_DEFAULT_REGION: "ap-south-1",
    });
    expect(regionFromEnvironment(undefined, env)).toEqual({
      region: "ap-south-1",
      source: "AWS_DEFAULT_REGION",
    });
  });

  it("then the default profile's region, under [default] or [profile default]", () => {
    expect(regionFromEnvironment(undefined, withConfig("[default]\nregion = eu-west-1\n"))).toEqual(
      { region: "eu-west-1", source: "profile" },
    );
    expect(
      regionFromEnvironment(undefined, withConfig("[profile default]\nregion=eu-north-1\n")),
    ).toEqual({ region: "eu-north-1", source: "profile" });
  });

  const CONFIG = [
    "# shared config",
    "[default]",
    "region = us-east-1",
    "",
    "[profile dev]",
    "; a comment",
    "output = json",
    "region = eu-central-1",
    "",
    "[profile   spaced]",
    "region = ap-northeast-1",
    "",
    "[staging]",
    "region = sa-east-1",
    "",
  ].join("\n");

  it("reads the profile named by awsProfile, before AWS_PROFILE", () => {
    const env = withConfig(CONFIG, { AWS_PROFILE: "spaced" });
    expect(regionFromEnvironment("dev", env)).toEqual({
      region: "eu-central-1",
      source: "profile",
    });
    expect(regionFromEnvironment(undefined, env)).toEqual({
      region: "ap-northeast-1",
      source: "profile",
    });
  });

  it("falls back to the default profile when AWS_PROFILE is blank", () => {
    expect(regionFromEnvironment(undefined, withConfig(CONFIG, { AWS_PROFILE: " " }))).toEqual({
      region: "us-east-1",
      source: "profile",
    });
  });

  it("reads [profile name] sections only: [name] is not a profile in the config file", () => {
    expect(regionFromEnvironment("staging", withConfig(CONFIG))).toBeUndefined();
  });

  it("does not take another section's region", () => {
    const env = withConfig("[profile dev]\noutput = json\n\n[default]\nregion = us-west-2\n");
    expect(regionFromEnvironment("dev", env)).toBeUndefined();
  });

  it("reads Windows line endings", () => {
    const env = withConfig("[profile win]\r\nregion = me-south-1\r\n");
    expect(regionFromEnvironment("win", env)?.region).toBe("me-south-1");
  });

  it("even with a region in the profile, the environment variables win", () => {
    const env = withConfig(CONFIG, { AWS_DEFAULT_REGION: "ca-central-1" });
    expect(regionFromEnvironment("dev", env)).toEqual({
      region: "ca-central-1",
      source: "AWS_DEFAULT_REGION",
    });
  });

  it("is undefined without a config file, or without a region in the profile", () => {
    expect(regionFromEnvironment(undefined, NO_CONFIG)).toBeUndefined();
    expect(regionFromEnvironment("dev", NO_CONFIG)).toBeUndefined();
    expect(regionFromEnvironment("missing", withConfig(CONFIG))).toBeUndefined();
  });
});
