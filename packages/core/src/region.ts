import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where a resolved region came from: shown by `rds-iam inspect` and in errors. */
export type RegionSource =
  | "iamRegion"
  | "hostname"
  | "AWS_REGION"
  | "AWS_DEFAULT_REGION"
  | "profile"
  /** An Aurora global writer endpoint: the current writer's region, looked up with `DescribeGlobalClusters`. */
  | "DescribeGlobalClusters";

/**
 * The region the environment configures, the way the AWS CLI finds it:
 * `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `region` of the profile
 * (`awsProfile`, else `AWS_PROFILE`, else `default`) in the shared config file.
 *
 * Synchronous on purpose: options are resolved once, up front, so a missing
 * region fails at construction rather than on the first connection.
 */
export function regionFromEnvironment(
  awsProfile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { region: string; source: RegionSource } | undefined {
  const fromRegion = env.AWS_REGION?.trim();
  if (fromRegion) return { region: fromRegion, source: "AWS_REGION" };
  const fromDefault = env.AWS_DEFAULT_REGION?.trim();
  if (fromDefault) return { region: fromDefault, source: "AWS_DEFAULT_REGION" };
  const profile = awsProfile ?? (env.AWS_PROFILE?.trim() || "default");
  const fromProfile = profileRegion(profile, env);
  return fromProfile ? { region: fromProfile, source: "profile" } : undefined;
}

function profileRegion(profile: string, env: NodeJS.ProcessEnv): string | undefined {
  const file = env.AWS_CONFIG_FILE?.trim() || join(homedir(), ".aws", "config");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const wanted = profile === "default" ? ["default", "profile default"] : [`profile ${profile}`];
  let inSection = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (section) {
      inSection = wanted.includes((section[1] ?? "").replace(/\s+/g, " "));
      continue;
    }
    if (!inSection) continue;
    const setting = /^region\s*=\s*(\S+)/.exec(line);
    if (setting?.[1]) return setting[1];
  }
  return undefined;
}
