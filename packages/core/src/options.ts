import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { type Clock, systemClock } from "./clock";
import { closestName } from "./closest-name";
import { defaultPort, describeValue, type Engine, parseEngine } from "./engine";
import { RdsIamError } from "./errors";
import type { GlobalWriterTarget } from "./global-writer-region";
import { hostMistake, isHostOrIpLiteral } from "./host-syntax";
import { isIpAddress } from "./ip-address";
import { parseRdsHostname, type RdsHostname } from "./rds-hostname";
import { readOptions } from "./read-options";
import { type RegionSource, regionFromEnvironment } from "./region";

/** Static credentials, or a provider that resolves them (and may refresh them). */
export type CredentialsOption = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/**
 * Everything needed to mint tokens for one database login. The `iam*` and
 * `awsProfile` names are the ones the AWS wrappers use.
 */
export interface IamAuthOptions {
  /** `postgres` or `mysql` (aliases: `postgresql`, `pg`, `mariadb`, `mysql2`). */
  engine: Engine | (string & {});
  /** The host the driver connects to. Also the signing host unless `iamHost` is set. */
  host: string;
  /** The port the driver connects to. Default: 5432 (postgres) or 3306 (mysql). */
  port?: number | string | undefined;
  /** The database user; must match the IAM policy's `dbuser`. */
  user: string;
  /**
   * The RDS endpoint hostname the token is signed for. Default: `host`.
   * Required when `host` is an IP address, a custom domain, a tunnel or a proxy.
   */
  iamHost?: string | undefined;
  /** The port the token is signed for. Default: `port`, else the engine's default. */
  iamDefaultPort?: number | string | undefined;
  /**
   * The region the token is signed for. Default: parsed from the signing host, else
   * `AWS_REGION`, `AWS_DEFAULT_REGION`, or the profile's `region`. For an Aurora global
   * writer endpoint (`<name>.global-<id>.global.rds.amazonaws.com`), which names no
   * region: the current writer's, looked up with `DescribeGlobalClusters` (permission
   * `rds:DescribeGlobalClusters`) in the region the environment configures, cached, and
   * looked up again after a rejected token (a cross-Region failover moves the writer).
   * Setting it signs for that region and makes no call.
   */
  iamRegion?: string | undefined;
  /**
   * Seconds a cached token is handed out after it was minted. Default 870; 1 to 900
   * (RDS accepts a token for 900 s; the 30 s margin absorbs clock skew).
   * Also bounded by the expiry of the credentials that signed it.
   */
  iamTokenExpiration?: number | undefined;
  /**
   * AWS credentials or a credential provider. Default: the AWS SDK's node provider
   * chain (environment, SSO, shared files, web identity, ECS, EC2), honouring
   * `awsProfile`, created once and reused (and created anew after an attempt hung past
   * 10 x `iamTimeout`). A provider function of yours cannot be re-created: after an
   * abandoned attempt it is simply called again, so it must not keep handing out one
   * call that never settles.
   */
  credentials?: CredentialsOption | undefined;
  /** Profile for the default provider chain and the region lookup. Default: `AWS_PROFILE`. */
  awsProfile?: string | undefined;
  /** Time source in ms since the epoch; for tests and simulations. Default: `Date.now`. */
  clock?: Clock | undefined;
  /**
   * Milliseconds a caller waits for a token attempt: loading the credentials
   * (including a forced refresh of credentials about to expire) plus signing. Default
   * 5000; 100 to 120000. A credential source that does not answer in time (a metadata
   * endpoint that accepts the connection and stays silent, a `credential_process` that
   * never exits) fails the caller with `TIMEOUT` instead of hanging it. The attempt
   * goes on, so a slow source still fills the cache for later callers, and is
   * abandoned at 10 x `iamTimeout`, when the next attempt starts afresh. Real time,
   * whatever `clock` says. Keep it below the pool's acquire timeout.
   */
  iamTimeout?: number | undefined;
}

/** Validated, defaulted and frozen {@link IamAuthOptions}. */
export interface ResolvedIamOptions {
  /** `postgres` or `mysql` (aliases resolved). */
  readonly engine: Engine;
  /** The host the driver connects to, trimmed. */
  readonly host: string;
  /** The port the driver connects to (default applied). */
  readonly port: number;
  /** The database user, trimmed. */
  readonly user: string;
  /** Signing hostname, lower-cased, without a trailing dot. */
  readonly iamHost: string;
  /** Signing port. */
  readonly iamDefaultPort: number;
  /**
   * Signing region, lower-cased; `undefined` exactly when {@link ResolvedIamOptions.globalWriter}
   * is set (the region is looked up).
   */
  readonly region: string | undefined;
  /** Where {@link ResolvedIamOptions.region} came from. */
  readonly regionSource: RegionSource;
  /**
   * Set for an Aurora global writer endpoint without `iamRegion`: which global cluster's
   * writer to look up, and in which region's RDS API.
   */
  readonly globalWriter: GlobalWriterTarget | undefined;
  /** What the signing host says about itself; `undefined` for a custom `iamHost`. */
  readonly endpoint: RdsHostname | undefined;
  /** Seconds. */
  readonly iamTokenExpiration: number;
  /** As given; `undefined` means the AWS SDK's node provider chain. */
  readonly credentials: CredentialsOption | undefined;
  /** As given; `undefined` means `AWS_PROFILE`, else `default`. */
  readonly awsProfile: string | undefined;
  /** The time source (default `Date.now`). */
  readonly clock: Clock;
  /** Milliseconds one token attempt (credentials plus signing) may take. */
  readonly iamTimeout: number;
  /** True when the caller injected a clock: tokens are then signed at clock time. */
  readonly customClock: boolean;
}

/** How an adapter spells an option, so errors name what the user actually wrote. */
export type OptionNames = Partial<Record<keyof IamAuthOptions, string>>;

/** Default `iamTokenExpiration`: 30 s inside the 900 s RDS accepts. */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 870;
/** The most RDS accepts for `X-Amz-Expires`. */
export const MAX_TOKEN_EXPIRATION_SECONDS = 900;
/**
 * Default `iamTimeout`: long enough for a slow metadata endpoint or STS call, well
 * inside the acquire timeouts of the pools (10 s and more) so that they see our
 * error, not their own.
 */
export const DEFAULT_IAM_TIMEOUT_MS = 5_000;
/** Below this, a healthy but distant credential source (SSO, STS) would time out. */
const MIN_IAM_TIMEOUT_MS = 100;
/** Above this, a hung source blocks logins for longer than any pool waits. */
const MAX_IAM_TIMEOUT_MS = 120_000;

const REGION_SHAPE = /^[a-z]{2,}(?:-[a-z0-9]+)+$/;

/**
 * Validates and resolves options once. Every default is documented on
 * {@link IamAuthOptions}. The result is frozen.
 *
 * @throws RdsIamError naming the option and the fix; never echoing a secret.
 */
export function resolveIamOptions(
  input: IamAuthOptions,
  names: OptionNames = {},
): ResolvedIamOptions {
  const options = snapshot(input, names);
  const engine = parseEngine(options.engine, names.engine ?? "engine");
  return completeIamOptions(draftOptions(options, names), engine);
}

/**
 * {@link ResolvedIamOptions} before the engine is known, which decides only the ports'
 * defaults: for a binding that learns its driver later (knex, at its first call), so
 * that options are checked up front and resolved once. `engine` in the input is ignored.
 */
export interface IamOptionsDraft
  extends Omit<ResolvedIamOptions, "engine" | "port" | "iamDefaultPort"> {
  /** The port given, if any. */
  readonly port: number | undefined;
  /** The signing port given, if any. */
  readonly iamDefaultPort: number | undefined;
}

/**
 * Validates and resolves everything but the engine (see {@link IamOptionsDraft});
 * {@link completeIamOptions} finishes it.
 *
 * @throws RdsIamError as {@link resolveIamOptions} does.
 */
export function draftIamOptions(
  input: Omit<IamAuthOptions, "engine">,
  names: OptionNames = {},
): IamOptionsDraft {
  return draftOptions(snapshot(input, names), names);
}

/** The draft with the engine's port defaults: frozen, and never printing the credentials. */
export function completeIamOptions(draft: IamOptionsDraft, engine: Engine): ResolvedIamOptions {
  const port = draft.port ?? defaultPort(engine);
  const resolved: ResolvedIamOptions = {
    ...draft,
    engine,
    port,
    iamDefaultPort: draft.iamDefaultPort ?? port,
  };
  // The credentials are the caller's secret key and session token: printing or
  // serializing the resolved options shows only which kind of credentials they are.
  const printable = () => ({ ...resolved, credentials: describeCredentials(resolved.credentials) });
  Object.defineProperties(resolved, {
    toJSON: { value: printable },
    [INSPECT]: {
      value: (
        _depth: number,
        inspectOptions: object,
        inspect?: (v: unknown, o: object) => string,
      ) => (inspect ? inspect(printable(), inspectOptions) : printable()),
    },
  });
  return Object.freeze(resolved);
}

/** A plain snapshot of the input, with misspelt keys refused. */
function snapshot(input: unknown, names: OptionNames): IamAuthOptions {
  if (typeof input !== "object" || input === null) {
    throw new RdsIamError("INVALID_OPTION", "IAM options must be an object.", {
      option: "options",
    });
  }
  const options = readOptions(input) as unknown as IamAuthOptions;
  refuseUnknownKeys(options, names);
  return options;
}

function draftOptions(options: IamAuthOptions, names: OptionNames): IamOptionsDraft {
  const name = (key: keyof IamAuthOptions): string => names[key] ?? key;
  const host = requireString(options.host, name("host"), "the database hostname");
  if (!isHostOrIpLiteral(host)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${name("host")} ${describeValue(host)} is not a hostname: ${hostMistake(host)}.`,
      { option: name("host") },
    );
  }
  const user = requireString(options.user, name("user"), "the database user name");
  const port = optionalPort(options.port, name("port"));
  const iamDefaultPort = optionalPort(options.iamDefaultPort, name("iamDefaultPort"));
  const iamTokenExpiration = tokenExpiration(
    options.iamTokenExpiration,
    name("iamTokenExpiration"),
  );
  const iamTimeout = attemptTimeout(options.iamTimeout, name("iamTimeout"));
  const awsProfile = optionalString(options.awsProfile, name("awsProfile"));
  const credentials = checkCredentials(options.credentials, name("credentials"));
  checkClock(options.clock, name("clock"));

  const { iamHost, endpoint } = signingHost(host, options.iamHost, name("host"), name("iamHost"));
  const { region, regionSource, globalWriter } = resolveRegion(
    options.iamRegion,
    endpoint,
    awsProfile,
    iamHost,
    name,
  );
  return {
    host,
    port,
    user,
    iamHost,
    iamDefaultPort,
    region,
    regionSource,
    globalWriter,
    endpoint,
    iamTokenExpiration,
    credentials,
    awsProfile,
    clock: options.clock ?? systemClock,
    iamTimeout,
    customClock: options.clock !== undefined,
  };
}

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** What may be shown of a credentials option: its kind and the (public) access key id. */
function describeCredentials(credentials: CredentialsOption | undefined): string | undefined {
  if (credentials === undefined) return undefined;
  if (typeof credentials === "function") return "[credential provider]";
  const kind = credentials.sessionToken === undefined ? "static" : "temporary";
  return `[${kind} credentials for access key ${credentials.accessKeyId}]`;
}

function signingHost(
  host: string,
  iamHostOption: unknown,
  hostName: string,
  iamHostName: string,
): { iamHost: string; endpoint: RdsHostname | undefined } {
  const explicit = optionalString(iamHostOption, iamHostName);
  if (explicit !== undefined) {
    if (!isHostOrIpLiteral(explicit)) {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${iamHostName} ${describeValue(explicit)} is not a hostname: ${hostMistake(explicit)}.`,
        { option: iamHostName },
      );
    }
    if (isIpAddress(explicit)) {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${iamHostName} must be the RDS endpoint hostname the token is signed for, not an IP address (got ${describeValue(explicit)}).`,
        { option: iamHostName },
      );
    }
    const endpoint = parseRdsHostname(explicit);
    return { iamHost: endpoint?.hostname ?? normalizeHost(explicit), endpoint };
  }
  if (isIpAddress(host)) {
    throw new RdsIamError(
      "IAM_HOST_REQUIRED",
      `${hostName} ${describeValue(host)} is an IP address; RDS only accepts tokens signed for its endpoint hostname. Set ${iamHostName} to the RDS endpoint (e.g. "mydb.cluster-abc123.us-east-1.rds.amazonaws.com").`,
      { option: iamHostName },
    );
  }
  const endpoint = parseRdsHostname(host);
  if (endpoint === undefined) {
    throw new RdsIamError(
      "IAM_HOST_REQUIRED",
      `${hostName} ${describeValue(host)} is not an RDS endpoint hostname (a custom domain, tunnel or proxy?). Set ${iamHostName} to the RDS endpoint the token must be signed for.`,
      { option: iamHostName },
    );
  }
  return { iamHost: endpoint.hostname, endpoint };
}

function resolveRegion(
  iamRegionOption: unknown,
  endpoint: RdsHostname | undefined,
  awsProfile: string | undefined,
  iamHost: string,
  name: (key: keyof IamAuthOptions) => string,
): {
  region: string | undefined;
  regionSource: RegionSource;
  globalWriter: GlobalWriterTarget | undefined;
} {
  const explicit = optionalString(iamRegionOption, name("iamRegion"));
  if (explicit !== undefined) {
    const region = explicit.toLowerCase();
    if (!REGION_SHAPE.test(region)) {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${name("iamRegion")} ${describeValue(explicit)} is not a region name like "us-east-1".`,
        { option: name("iamRegion") },
      );
    }
    return { region, regionSource: "iamRegion", globalWriter: undefined };
  }
  if (endpoint?.region !== undefined) {
    return { region: endpoint.region, regionSource: "hostname", globalWriter: undefined };
  }
  const fromEnvironment = regionFromEnvironment(awsProfile);
  if (endpoint?.kind === "global") {
    // The application's region is not the writer's (and the writer moves on failover):
    // it only says whose RDS API to ask.
    if (fromEnvironment === undefined) {
      throw new RdsIamError(
        "REGION_UNRESOLVED",
        `${describeValue(iamHost)} is an Aurora global writer endpoint, which names no region: the writer's region is looked up with DescribeGlobalClusters, which needs a region whose RDS API to ask, and neither AWS_REGION, AWS_DEFAULT_REGION nor the AWS profile sets one. Set AWS_REGION (e.g. to the application's region), or set ${name("iamRegion")} to the writer's region to sign without a look-up (it then does not follow a cross-Region failover).`,
        { option: name("iamRegion") },
      );
    }
    return {
      region: undefined,
      regionSource: "DescribeGlobalClusters",
      globalWriter: Object.freeze({
        globalClusterIdentifier: endpoint.name,
        apiRegion: fromEnvironment.region.toLowerCase(),
      }),
    };
  }
  if (fromEnvironment)
    return {
      region: fromEnvironment.region,
      regionSource: fromEnvironment.source,
      globalWriter: undefined,
    };
  const why = `${describeValue(iamHost)} does not name a region`;
  throw new RdsIamError(
    "REGION_UNRESOLVED",
    `Cannot tell which region to sign for: ${why}, and neither AWS_REGION, AWS_DEFAULT_REGION nor the AWS profile sets one. Set ${name("iamRegion")} (e.g. "us-east-1").`,
    { option: name("iamRegion") },
  );
}

function normalizeHost(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function requireString(value: unknown, option: string, what: string): string {
  if (value === undefined || value === null || value === "") {
    throw new RdsIamError("MISSING_OPTION", `${option} is required: ${what}.`, { option });
  }
  if (typeof value !== "string" || value.trim() === "") {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be a non-empty string: ${what} (got ${describeValue(value)}).`,
      { option },
    );
  }
  return value.trim();
}

function optionalString(value: unknown, option: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.trim() === "") {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be a non-empty string when given (got ${describeValue(value)}).`,
      { option },
    );
  }
  return value.trim();
}

function optionalPort(value: unknown, option: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const port = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be a whole number from 1 to 65535 (got ${describeValue(value)}).`,
      { option },
    );
  }
  return port;
}

function tokenExpiration(value: unknown, option: string): number {
  if (value === undefined || value === null) return DEFAULT_TOKEN_EXPIRATION_SECONDS;
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < 1 ||
    value > MAX_TOKEN_EXPIRATION_SECONDS
  ) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be a number of seconds from 1 to ${MAX_TOKEN_EXPIRATION_SECONDS}; RDS rejects tokens older than 900 s (got ${describeValue(value)}). Omit it for the default of ${DEFAULT_TOKEN_EXPIRATION_SECONDS}.`,
      { option },
    );
  }
  return value;
}

function attemptTimeout(value: unknown, option: string): number {
  if (value === undefined || value === null) return DEFAULT_IAM_TIMEOUT_MS;
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < MIN_IAM_TIMEOUT_MS ||
    value > MAX_IAM_TIMEOUT_MS
  ) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be a whole number of milliseconds from ${MIN_IAM_TIMEOUT_MS} to ${MAX_IAM_TIMEOUT_MS}: how long loading credentials and signing one token may take (got ${describeValue(value)}). Omit it for the default of ${DEFAULT_IAM_TIMEOUT_MS}.`,
      { option },
    );
  }
  return value;
}

function checkCredentials(value: unknown, option: string): CredentialsOption | undefined {
  if (value === undefined || typeof value === "function") return value as CredentialsOption;
  // Read once: a getter could answer differently at signing time, or throw there.
  const identity =
    typeof value === "object" && value !== null
      ? (readOptions(value, option) as Partial<AwsCredentialIdentity>)
      : undefined;
  if (
    identity === undefined ||
    typeof identity.accessKeyId !== "string" ||
    identity.accessKeyId === "" ||
    typeof identity.secretAccessKey !== "string" ||
    identity.secretAccessKey === "" ||
    (identity.sessionToken !== undefined && typeof identity.sessionToken !== "string")
  ) {
    // Never describe the value itself: it may hold a secret key.
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be { accessKeyId, secretAccessKey, sessionToken? } or a credential provider function (e.g. fromNodeProviderChain()).`,
      { option },
    );
  }
  return identity as AwsCredentialIdentity;
}

/** The clock must be a function that answers a finite number of ms, now and not at first use. */
function checkClock(clock: unknown, option: string): void {
  if (clock === undefined) return;
  let now: unknown;
  try {
    now = typeof clock === "function" ? (clock as () => unknown)() : undefined;
  } catch (error) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} threw when called; it must return ms since the epoch.`,
      {
        option,
        cause: error,
      },
    );
  }
  if (typeof clock !== "function" || typeof now !== "number" || !Number.isFinite(now)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be a function returning ms since the epoch (e.g. () => Date.now()); got ${typeof clock === "function" ? `a function returning ${describeValue(now)}` : describeValue(clock)}.`,
      { option },
    );
  }
}

/**
 * Keys `resolveIamOptions` reads, and the binding keys that travel with them (every
 * binding splits its input with `splitIamOptions` first, so these reach here too).
 */
const KNOWN_KEYS: readonly string[] = [
  "engine",
  "host",
  "port",
  "user",
  "iamHost",
  "iamDefaultPort",
  "iamRegion",
  "iamTokenExpiration",
  "iamTimeout",
  "credentials",
  "awsProfile",
  "clock",
  "tokenCache",
  "ssl",
  "iamAllowPlaintext",
  "iamAllowTokenInDebugOutput",
];

/** A misspelt option would be ignored and its default used: refuse it, naming the likely one. */
function refuseUnknownKeys(options: object, names: OptionNames): void {
  for (const key of Object.keys(options)) {
    if (KNOWN_KEYS.includes(key)) continue;
    const guess = closestName(key, KNOWN_KEYS);
    const spelled =
      guess === undefined
        ? undefined
        : ((names as Record<string, string | undefined>)[guess] ?? guess);
    throw new RdsIamError(
      "INVALID_OPTION",
      `Unknown IAM option ${describeValue(key)}${spelled === undefined ? "" : ` (did you mean ${spelled}?)`}. Known: ${KNOWN_KEYS.join(", ")}.`,
      { option: key },
    );
  }
}
