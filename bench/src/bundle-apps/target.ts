/**
 * Where a Lambda-shaped bench app signs for, handed over in the environment (the
 * bundle runs from a folder with nothing else in it). Credentials are not among
 * them: the AWS SDK's default chain in the bundle fetches them from the loopback
 * container credentials endpoint, as in a Lambda function (whose runtime serves
 * credentials the same way).
 */
export interface BundleTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly iamHost: string;
  readonly iamDefaultPort: number;
  readonly region: string;
  readonly ca: string;
}

export const TARGET_VARIABLE = "RDS_IAM_BENCH_BUNDLE_TARGET";

export function bundleTarget(): BundleTarget {
  const json = process.env[TARGET_VARIABLE];
  if (json === undefined) throw new Error(`${TARGET_VARIABLE} is not set`);
  return JSON.parse(json) as BundleTarget;
}

/** What every app exports: its handler, and the token it warmed at init. */
export interface LambdaApp {
  readonly firstToken: Promise<string>;
  handler(): Promise<unknown>;
}
