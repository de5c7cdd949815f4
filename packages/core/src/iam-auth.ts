import type { Engine } from "./engine";
import { RdsIamError } from "./errors";
import {
  type IamAuthOptions,
  type OptionNames,
  type ResolvedIamOptions,
  resolveIamOptions,
} from "./options";
import type { RegionSource } from "./region";
import type { CachedToken, TokenCache } from "./token-cache";
import type { StatsSink, TokenSource } from "./token-source";
import { tokenSourceFor } from "./token-sources";

/** Options for {@link createIamAuth}: the IAM options plus cache sharing. */
export interface CreateIamAuthOptions extends IamAuthOptions {
  /**
   * A cache of your own for this provider's tokens. Default: the process's, shared by
   * every provider for the same endpoint, user and credential source (so a new ORM
   * object reuses a current token). Providers given one cache share through it only.
   */
  tokenCache?: TokenCache | undefined;
}

/** What a provider connects to and signs for (no secrets). */
export interface IamTarget {
  /** `postgres` or `mysql`. */
  readonly engine: Engine;
  /** The host the driver connects to. */
  readonly host: string;
  /** The port the driver connects to. */
  readonly port: number;
  /** The database user, as signed into the token (`DBUser`). */
  readonly user: string;
  /** The RDS endpoint hostname the token is signed for, lower-cased. */
  readonly iamHost: string;
  /** The port the token is signed for. */
  readonly iamDefaultPort: number;
  /**
   * The region the token is signed for. For an Aurora global writer endpoint without
   * `iamRegion`: the writer's region as last looked up, `undefined` until the first
   * token; it changes when a failover moved the writer.
   */
  readonly region: string | undefined;
  /** Where {@link IamTarget.region} came from. */
  readonly regionSource: RegionSource;
}

/**
 * Counters since the provider was created, of the work this provider caused. Providers
 * for the same target and credentials share tokens: a token another one minted counts
 * here as a cache hit, not a mint.
 */
export interface IamAuthStats {
  /** Tokens signed. */
  readonly mints: number;
  /** `getToken()` calls answered from the cache. */
  readonly cacheHits: number;
  /** Calls to the credential provider. */
  readonly credentialResolutions: number;
  /** Mints that failed (credentials or signing) or were abandoned at 10 x `iamTimeout`; a caller's own timeout is not one. */
  readonly failures: number;
  /** Tokens dropped by `invalidate()`. */
  readonly invalidations: number;
  /** Mints started ahead of expiry, in the background. */
  readonly refreshesAhead: number;
  /** `DescribeGlobalClusters` look-ups of a global writer endpoint's writer (0 for other endpoints). */
  readonly writerLookups: number;
}

/** A token and the end of its hand-out window (clock ms). */
export interface TokenWithExpiry {
  /** The token: a secret. Never log it. */
  readonly token: string;
  /** Clock ms after which this token is no longer handed out. */
  readonly expiresAt: number;
}

/** Hands out IAM tokens for one database login. */
export interface IamAuth {
  /** What tokens are signed for and where the driver connects (no secrets). */
  readonly target: IamTarget;
  /** A token valid for at least a few more seconds: cached, or minted once for all callers. */
  getToken(): Promise<string>;
  /**
   * Like {@link IamAuth.getToken}, with the clock time (ms since the epoch) until
   * which this token is handed out; later callers get a newer one. For config
   * providers that must say when their config goes stale (knex's `expirationChecker`).
   */
  getTokenWithExpiry(): Promise<TokenWithExpiry>;
  /**
   * Drops the cached token, e.g. after the database rejected it. With `token`, only
   * if that is still the cached one, so a late rejection cannot evict a fresh token.
   * The next mint then asks the credential source for fresh credentials
   * (`forceRefresh`: the key may have been revoked or rotated), at most every 5 s.
   */
  invalidate(token?: string): void;
  /** A snapshot of the counters since the provider was created. */
  stats(): IamAuthStats;
  /**
   * Stops this provider: later `getToken()` calls fail with `CLOSED`. Background
   * refreshes stop once no provider sharing its tokens is in use.
   */
  close(): void;
}

/**
 * Creates a token provider. Options are resolved once (errors surface here).
 *
 * Providers for the same signing target and credential source share, per process,
 * one credential provider (the default chain per `awsProfile`, or the function you
 * pass), one cached token, one mint in flight and one refresh timer (see
 * `TokenSource`): many ORM objects cost what one does. A caller waits at most
 * `iamTimeout` (real time) and then gets `TIMEOUT`; the attempt goes on for others, up
 * to 10 x `iamTimeout`, after which it is abandoned and the next call starts afresh.
 */
export function createIamAuth(options: CreateIamAuthOptions): IamAuth {
  const resolved = resolveIamOptions(options);
  return iamAuthFor(resolved, tokenCacheOption(readTokenCache(options)));
}

/** `tokenCache`, read once (the options may be a Proxy; resolveIamOptions read the rest). */
function readTokenCache(options: unknown): unknown {
  return typeof options === "object" && options !== null
    ? (options as { tokenCache?: unknown }).tokenCache
    : undefined;
}

/** A provider for options resolved already (a binding resolves them once, up front). */
export function iamAuthFor(
  resolved: ResolvedIamOptions,
  tokenCache: TokenCache | undefined,
  names?: OptionNames,
): IamAuth {
  const source = tokenSourceFor(resolved, tokenCache);
  return new IamAuthHandle(resolved, source, names?.iamTimeout ?? "iamTimeout");
}

/**
 * A shared cache, checked now rather than at the first mint. Shape, not `instanceof`:
 * the CJS and ESM copies of this package each have their own class.
 */
export function tokenCacheOption(cache: unknown): TokenCache | undefined {
  if (cache === undefined) return undefined;
  const shape = cache as Partial<
    Record<"get" | "set" | "delete" | "prune" | "maxEntries", unknown>
  > | null;
  if (
    typeof shape !== "object" ||
    shape === null ||
    typeof shape.get !== "function" ||
    typeof shape.set !== "function" ||
    typeof shape.delete !== "function" ||
    typeof shape.prune !== "function" ||
    typeof shape.maxEntries !== "number"
  ) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "tokenCache must be a TokenCache (new TokenCache() from @rds-iam/core), shared between providers; omit it for the process's shared cache.",
      { option: "tokenCache" },
    );
  }
  return cache as TokenCache;
}

/** The key of the hook adapters call when their ORM object is destroyed (see `pauseIamAuth`). */
export const PAUSE = Symbol.for("@rds-iam/core.pause");

/** One provider: a view of a shared {@link TokenSource}, with its own target and counters. */
class IamAuthHandle implements IamAuth {
  readonly target: IamTarget;
  readonly #source: TokenSource;
  /** `iamTimeout` as the caller spells it, for the timeout error. */
  readonly #timeoutOption: string;
  #attached = false;
  #closed = false;
  readonly #stats: StatsSink = {
    mints: 0,
    cacheHits: 0,
    credentialResolutions: 0,
    failures: 0,
    invalidations: 0,
    refreshesAhead: 0,
    writerLookups: 0,
  };

  constructor(options: ResolvedIamOptions, source: TokenSource, timeoutOption: string) {
    this.#source = source;
    this.#timeoutOption = timeoutOption;
    this.target = Object.freeze({
      engine: options.engine,
      host: options.host,
      port: options.port,
      user: options.user,
      iamHost: options.iamHost,
      iamDefaultPort: options.iamDefaultPort,
      // A getter: a global writer endpoint's region is looked up, and moves on failover.
      get region() {
        return source.region;
      },
      regionSource: options.regionSource,
    });
  }

  getToken(): Promise<string> {
    return this.#token().then((entry) => entry.token);
  }

  getTokenWithExpiry(): Promise<TokenWithExpiry> {
    return this.#token().then(({ token, expiresAt }) => ({ token, expiresAt }));
  }

  #token(): Promise<CachedToken> {
    if (this.#closed) return Promise.reject(closedError());
    if (!this.#attached) {
      this.#attached = true;
      this.#source.attach();
    }
    return this.#source.token(this.#stats, this.#timeoutOption);
  }

  invalidate(token?: string): void {
    // A closed provider's late rejection must not evict a token others still use.
    if (this.#closed) return;
    if (this.#source.invalidate(token)) this.#stats.invalidations++;
  }

  stats(): IamAuthStats {
    return { ...this.#stats };
  }

  close(): void {
    this.#closed = true;
    this[PAUSE]();
  }

  /** Stops background work until the next `getToken()` (the ORM object was destroyed). */
  [PAUSE](): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#source.detach();
  }

  toJSON(): { target: IamTarget; stats: IamAuthStats } {
    return { target: this.target, stats: this.stats() };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const { iamHost, iamDefaultPort, user, region } = this.target;
    return `IamAuth { ${user}@${iamHost}:${iamDefaultPort} (${region ?? "writer region not looked up yet"}), mints: ${this.#stats.mints} }`;
  }
}

function closedError(): RdsIamError {
  return new RdsIamError("CLOSED", "This IAM token provider was closed; create a new one.");
}
