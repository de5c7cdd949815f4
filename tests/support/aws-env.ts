import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * An environment in which the AWS SDK's default provider chain can only find what a
 * test gives it: no ambient keys, no real shared files, no instance metadata.
 * Nothing in a test may reach AWS.
 */
export function isolatedAwsEnv(
  extra: Record<string, string> = {},
): Record<string, string | undefined> {
  const nowhere = join(tmpdir(), "rds-iam-tests-no-aws-config");
  return {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_ROLE_ARN: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: undefined,
    AWS_CONFIG_FILE: join(nowhere, "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(nowhere, "credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

/** Applies an environment for the duration of `fn`, then restores the old one. */
export async function withEnv<T>(
  env: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
