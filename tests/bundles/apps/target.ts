/**
 * Where a bundled test app connects: the gateway fixture's options, handed over in
 * the environment (a bundle run from another folder has no test files to import).
 * Credentials are not among them: the app finds them through the AWS SDK's default
 * provider chain (a loopback container credentials endpoint), as a Lambda function would.
 */
export interface BundleTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly iamHost: string;
  readonly iamDefaultPort: number;
  readonly iamRegion: string;
  readonly ca: string;
}

/** The variable the test sets to the JSON of a {@link BundleTarget}. */
export const TARGET_VARIABLE = "RDS_IAM_BUNDLE_TARGET";

/** Reads the target, failing loudly when the test did not set it. */
export function bundleTarget(): BundleTarget {
  const json = process.env[TARGET_VARIABLE];
  if (json === undefined) throw new Error(`${TARGET_VARIABLE} is not set`);
  return JSON.parse(json) as BundleTarget;
}

/** What every app prints (one JSON line) after its query, for the test to check. */
export interface BundleReport {
  readonly who: string;
  readonly mints: number;
}

/** Prints the report, or the error's name and message (never a token: none reaches a message). */
export function runApp(main: () => Promise<BundleReport>): void {
  main().then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
