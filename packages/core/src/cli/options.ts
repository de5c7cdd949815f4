import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { RdsIamError } from "../errors";
import type { IamAuthOptions, OptionNames } from "../options";
import { checkUrlParams } from "../url-params";

/** A command-line mistake: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Options every command takes to describe the login. */
export const TARGET_OPTIONS = {
  host: { type: "string" },
  hostname: { type: "string" },
  port: { type: "string" },
  user: { type: "string" },
  username: { type: "string" },
  engine: { type: "string" },
  region: { type: "string" },
  profile: { type: "string" },
  "iam-host": { type: "string" },
  "iam-port": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpec;

export const TARGET_HELP = `Target:
  --host <host>        Database host (alias --hostname). For "token", the RDS endpoint.
  --port <port>        Database port. Default: the engine's (5432 / 3306); give --port or --engine.
  --user <name>        Database user (alias --username); the IAM policy's dbuser.
  --engine <engine>    postgres | mysql (aliases postgresql, mariadb, ...).
  --region <region>    Region to sign for. Default: from the hostname, else AWS_REGION,
                       AWS_DEFAULT_REGION or the profile's region.
  --profile <name>     AWS profile for credentials and region. Default: AWS_PROFILE, else
                       the default provider chain (env, SSO, files, web identity, ECS, EC2).
  --iam-host <host>    RDS endpoint to sign for when --host is an IP, tunnel or custom name.
  --iam-port <port>    Port to sign for. Default: --port.`;

/** How errors from core name the options: as the flags the user typed. */
export const FLAG_NAMES: OptionNames = {
  engine: "--engine",
  host: "--host",
  port: "--port",
  user: "--user",
  iamHost: "--iam-host",
  iamDefaultPort: "--iam-port",
  iamRegion: "--region",
  awsProfile: "--profile",
};

/** Parses `argv` strictly: unknown options and stray arguments are usage errors. */
export function parse<O extends OptionSpec>(
  argv: readonly string[],
  options: O,
  allowPositionals = false,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals,
    });
    return {
      values: values as Record<string, string | boolean | string[] | undefined>,
      positionals,
    };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Reads a string option given under either of two names (`--host` / `--hostname`). */
export function pick(
  values: Record<string, unknown>,
  name: string,
  alias?: string,
): string | undefined {
  const a = values[name];
  const b = alias === undefined ? undefined : values[alias];
  if (typeof a === "string" && typeof b === "string" && a !== b) {
    throw new UsageError(`--${name} and --${alias} disagree; give one of them.`);
  }
  return typeof a === "string" ? a : typeof b === "string" ? b : undefined;
}

/**
 * The IAM options the flags describe. Credentials always come from the AWS SDK's
 * provider chain (honouring --profile): a CLI never takes secrets as arguments,
 * where they would land in shell history and process listings.
 */
export function targetOptions(
  values: Record<string, unknown>,
  defaults: {
    engine?: string | undefined;
    user?: string | undefined;
    host?: string | undefined;
  } = {},
): IamAuthOptions {
  const host = pick(values, "host", "hostname") ?? defaults.host;
  const user = pick(values, "user", "username") ?? defaults.user;
  const engine = pick(values, "engine") ?? defaults.engine;
  if (host === undefined) throw new UsageError("--host is required.");
  if (user === undefined) throw new UsageError("--user is required.");
  if (engine === undefined) {
    throw new UsageError("--engine (postgres or mysql) or --port is required.");
  }
  return {
    engine,
    host,
    user,
    port: pick(values, "port"),
    iamHost: pick(values, "iam-host"),
    iamDefaultPort: pick(values, "iam-port"),
    iamRegion: pick(values, "region"),
    awsProfile: pick(values, "profile"),
  };
}

/** Guesses the engine from a port when --engine is not given (5432 / 3306 and friends). */
export function engineFromPort(port: string | undefined): string | undefined {
  if (port === undefined) return undefined;
  if (port === "5432") return "postgres";
  if (port === "3306") return "mysql";
  return undefined;
}

/** Reads a PEM file given on the command line. */
export function readPem(file: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new RdsIamError("INVALID_OPTION", `${option} ${JSON.stringify(file)} cannot be read.`, {
      option,
      cause: error,
    });
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} ${JSON.stringify(file)} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`,
      { option },
    );
  }
  return text;
}

/**
 * The `--param key=value` flags as URL parameters, checked like the library's `params`
 * (no key that governs TLS, the target or packet logging). `plaintextFlag` is the
 * command's way to a local gateway without TLS, if it has one.
 */
export function urlParams(
  values: Record<string, unknown>,
  plaintextFlag?: string,
): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of (values.param as string[] | undefined) ?? []) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new UsageError(`--param needs key=value (got ${JSON.stringify(entry)}).`);
    Object.defineProperty(params, entry.slice(0, at), {
      value: entry.slice(at + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  checkUrlParams(params, "--param", (key) => `--param ${key}`, {
    tls: `to trust your own CA pass --ca <file>${plaintextFlag === undefined ? "" : `, and for a local test gateway without TLS, ${plaintextFlag}`}`,
    target: "give --host, --port or --user",
  });
  return params;
}
