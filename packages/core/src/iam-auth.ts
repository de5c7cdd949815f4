import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import {
  createCredentialProvider,
  credentialExpiry,
  credentialIdentityKey,
  replaceHungProvider,
  resolveCredentials,
} from "./credentials";
import type { Engine } from "./engine";
import { isRdsIamError, RdsIamError } from "./errors";
import { generateAuthToken } from "./generate-auth-token";
import {
  type IamAuthOptions,
  type OptionNames,
  type ResolvedIamOptions,
  resolveIamOptions,
} from "./options";
import type { RegionSource } from "./region";
import { type CachedToken, TokenCache } from "./token-cache";
import { withTimeout } from "./with-timeout";

/** Options for {@link createIamAuth}: the IAM options plus cache sharing. */
export interface CreateIamAuthOptions extends IamAuthOptions {
  /**
   * Share tokens between providers for the same target and credentials.
   * Default: a cache of this provider's own.
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
  /** The region the token is signed for. */
  readonly region: string;
  /** Where {@link IamTarget.region} came from. */
  readonly regionSource: RegionSource;
}

/** Counters since the provider was created. */
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
  /** Stops background refreshes. Later `getToken()` calls fail with `CLOSED`. */
  close(): void;
}

/** Stop handing out a token this long before the credentials that signed it expire. */
const CREDENTIAL_EXPIRY_MARGIN_MS = 60_000;
/** Re-mint in the background this long before a token's hand-out deadline. */
const MAX_REFRESH_AHEAD_MS = 30_000;
/**
 * After a rejection, credentials are force-refreshed at most this often (clock ms): a
 * burst of rejections of the same key costs one request to the credential source.
 */
const FORCED_REFRESH_INTERVAL_MS = 5_000;
/** Background refresh failures back off from 1 s to 1 min (clock time), never a storm. */
const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;
/** setTimeout's limit. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A caller waits `iamTimeout` for a token; the attempt it waits on may go on this many
 * times longer, so that a slow but working source (SSO, assume-role, a distant STS)
 * still fills the cache for the next caller. Only then is it abandoned and the default
 * chain re-created: a source that truly hangs delays recovery by this much at most.
 */
const ATTEMPT_LIMIT_FACTOR = 10;

/** How far one mint got: what a timeout reports as hung. */
interface MintProgress {
  phase: "credentials" | "signing";
  /** Set when the deadline passed: the attempt stops at its next step. */
  abandoned: RdsIamError | undefined;
}

/**
 * Creates a token provider. Options are resolved once (errors surface here); the
 * credential provider is created once and reused (the default chain is created anew
 * after an attempt hung past 10 x `iamTimeout`).
 *
 * Cache semantics: single flight (concurrent callers share one mint; a failed mint
 * is not cached), refresh ahead (a used token is re-minted in the background before
 * it expires), lifetime = min(`iamTokenExpiration`, credential expiry - 60 s) from
 * the moment minting starts, key includes the credential identity, bounded size,
 * `unref`ed refresh timers, injectable clock. A caller waits at most `iamTimeout`
 * (real time, see `withTimeout`) and then gets `TIMEOUT`; the attempt goes on for
 * others, up to 10 x `iamTimeout`, after which it is abandoned and the next call
 * starts afresh.
 */
export function createIamAuth(options: CreateIamAuthOptions, names?: OptionNames): IamAuth {
  const resolved = resolveIamOptions(options, names);
  const provider = createCredentialProvider(resolved.credentials, resolved.awsProfile);
  return new TokenProvider(
    resolved,
    provider,
    tokenCacheOption(options.tokenCache),
    names?.iamTimeout ?? "iamTimeout",
  );
}

/**
 * A shared cache, checked now rather than at the first mint. Shape, not `instanceof`:
 * the CJS and ESM copies of this package each have their own class.
 */
function tokenCacheOption(cache: unknown): TokenCache {
  if (cache === undefined) return new TokenCache({ maxEntries: 16 });
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
      "tokenCache must be a TokenCache (new TokenCache() from @rds-iam/core), shared between providers; omit it for one of the provider's own.",
      { option: "tokenCache" },
    );
  }
  return cache as TokenCache;
}

class TokenProvider implements IamAuth {
  readonly target: IamTarget;
  readonly #options: ResolvedIamOptions;
  /** Replaced when it hung (see `replaceHungProvider`). */
  #provider: AwsCredentialIdentityProvider;
  readonly #cache: TokenCache;
  /** `iamTimeout` as the caller spells it, for the timeout error. */
  readonly #timeoutOption: string;
  readonly #keyPrefix: string;
  #currentKey: string | undefined;
  #inflight: Promise<CachedToken> | undefined;
  /** How far the attempt in flight got, for the message of a caller's timeout. */
  #progress: MintProgress | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Whether the token was asked for since the last refresh timer fired. */
  #used = false;
  #nextBackgroundAttemptAt = Number.NEGATIVE_INFINITY;
  #backoffMs = MIN_BACKOFF_MS;
  #closed = false;
  /** The next mint asks the credential source for fresh credentials (after a rejection). */
  #forceRefreshNext = false;
  #lastForcedRefreshAt = Number.NEGATIVE_INFINITY;
  #stats = {
    mints: 0,
    cacheHits: 0,
    credentialResolutions: 0,
    failures: 0,
    invalidations: 0,
    refreshesAhead: 0,
  };

  constructor(
    options: ResolvedIamOptions,
    provider: AwsCredentialIdentityProvider,
    cache: TokenCache,
    timeoutOption: string,
  ) {
    this.#options = options;
    this.#provider = provider;
    this.#cache = cache;
    this.#timeoutOption = timeoutOption;
    this.target = Object.freeze({
      engine: options.engine,
      host: options.host,
      port: options.port,
      user: options.user,
      iamHost: options.iamHost,
      iamDefaultPort: options.iamDefaultPort,
      region: options.region,
      regionSource: options.regionSource,
    });
    this.#keyPrefix = [options.region, options.iamHost, options.iamDefaultPort, options.user].join(
      "\0",
    );
  }

  getToken(): Promise<string> {
    if (this.#closed) return Promise.reject(closedError());
    const entry = this.#cached();
    if (entry !== undefined) return Promise.resolve(entry.token);
    return this.#awaitMint().then((minted) => minted.token);
  }

  getTokenWithExpiry(): Promise<TokenWithExpiry> {
    if (this.#closed) return Promise.reject(closedError());
    const entry = this.#cached();
    const ready = entry === undefined ? this.#awaitMint() : Promise.resolve(entry);
    return ready.then(({ token, expiresAt }) => ({ token, expiresAt }));
  }

  /** The cached token while it may be handed out (a use: may start a refresh ahead). */
  #cached(): CachedToken | undefined {
    const now = this.#options.clock();
    const entry = this.#currentKey === undefined ? undefined : this.#cache.get(this.#currentKey);
    this.#used = true;
    if (entry === undefined || now >= entry.expiresAt) return undefined;
    this.#stats.cacheHits++;
    if (now >= entry.refreshAt) this.#refreshInBackground(now);
    return entry;
  }

  invalidate(token?: string): void {
    if (this.#currentKey === undefined) return;
    if (!this.#cache.delete(this.#currentKey, token)) return;
    this.#stats.invalidations++;
    // The database refused a token: its access key may have been revoked or rotated
    // while the memoized credentials still look valid for hours. The next mint asks
    // the source for fresh ones, once: concurrent callers share that mint, and
    // rejections of the same key within a short while do not ask again.
    const now = this.#options.clock();
    if (
      now - this.#lastForcedRefreshAt >= FORCED_REFRESH_INTERVAL_MS ||
      now < this.#lastForcedRefreshAt
    ) {
      this.#forceRefreshNext = true;
    }
  }

  stats(): IamAuthStats {
    return { ...this.#stats };
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  toJSON(): { target: IamTarget; stats: IamAuthStats } {
    return { target: this.target, stats: this.stats() };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const { iamHost, iamDefaultPort, user, region } = this.target;
    return `IamAuth { ${user}@${iamHost}:${iamDefaultPort} (${region}), mints: ${this.#stats.mints} }`;
  }

  /**
   * The shared mint, as one caller waits for it: at most `iamTimeout`, then `TIMEOUT`.
   * The attempt itself goes on (a slow source still fills the cache for the next
   * caller) until it is abandoned at {@link ATTEMPT_LIMIT_FACTOR} times that.
   */
  #awaitMint(): Promise<CachedToken> {
    const shared = this.#mintShared();
    const progress = this.#progress;
    return withTimeout(shared, this.#options.iamTimeout, () =>
      this.#timeoutError(progress?.phase ?? "credentials", "caller"),
    );
  }

  #mintShared(): Promise<CachedToken> {
    if (this.#inflight === undefined) {
      this.#inflight = this.#mint().finally(() => {
        this.#inflight = undefined;
      });
    }
    return this.#inflight;
  }

  #refreshInBackground(now: number): void {
    if (this.#inflight !== undefined || this.#closed || now < this.#nextBackgroundAttemptAt) return;
    this.#stats.refreshesAhead++;
    this.#mintShared().then(
      () => {
        this.#backoffMs = MIN_BACKOFF_MS;
      },
      () => {
        // The cached token is still usable; try again later, not on every call.
        this.#nextBackgroundAttemptAt = this.#options.clock() + this.#backoffMs;
        this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
      },
    );
  }

  async #mint(): Promise<CachedToken> {
    const options = this.#options;
    const startedAt = options.clock();
    // The attempt keeps the provider it started with: if it hangs and the provider is
    // replaced, its late steps must not touch the new one.
    const provider = this.#provider;
    const progress: MintProgress = { phase: "credentials", abandoned: undefined };
    this.#progress = progress;
    try {
      // Only the attempt that beats the deadline gets here; a late one is dropped by
      // withTimeout and never reaches the cache, the stats or the refresh timer.
      const { credentials, token } = await withTimeout(
        this.#attempt(provider, startedAt, progress),
        options.iamTimeout * ATTEMPT_LIMIT_FACTOR,
        () => {
          progress.abandoned = this.#timeoutError(progress.phase, "attempt");
          return progress.abandoned;
        },
        // Callers wait with timers of their own; this one must not keep a process
        // alive for minutes after they all gave up (or after close()).
        { unref: true },
      );
      const expiry = credentialExpiry(credentials);
      const lifetime = Math.min(
        options.iamTokenExpiration * 1000,
        expiry === undefined
          ? Number.POSITIVE_INFINITY
          : expiry - CREDENTIAL_EXPIRY_MARGIN_MS - startedAt,
      );
      // Credentials about to expire still sign a token valid until they do.
      const usable = lifetime > 0 ? lifetime : (expiry ?? startedAt) - startedAt;
      const entry: CachedToken = {
        token,
        mintedAt: startedAt,
        expiresAt: startedAt + usable,
        refreshAt: startedAt + usable - Math.min(MAX_REFRESH_AHEAD_MS, usable / 4),
      };
      const key = `${this.#keyPrefix}\0${credentialIdentityKey(credentials)}`;
      this.#cache.set(key, entry);
      this.#currentKey = key;
      this.#stats.mints++;
      this.#schedule(entry);
      return entry;
    } catch (error) {
      this.#stats.failures++;
      if (progress.abandoned !== undefined && this.#provider === provider) {
        this.#provider = replaceHungProvider(options.credentials, options.awsProfile, provider);
      }
      if (isRdsIamError(error)) throw error;
      throw new RdsIamError(
        "TOKEN_GENERATION_FAILED",
        `Could not sign an IAM token for ${options.user}@${options.iamHost}:${options.iamDefaultPort} in ${options.region}.`,
        { cause: error },
      );
    }
  }

  /** Credentials, then the signature; stops between steps once the deadline passed. */
  async #attempt(
    provider: AwsCredentialIdentityProvider,
    startedAt: number,
    progress: MintProgress,
  ): Promise<{ credentials: AwsCredentialIdentity; token: string }> {
    const credentials = await this.#credentialsFor(provider, startedAt, progress);
    if (progress.abandoned !== undefined) throw progress.abandoned;
    progress.phase = "signing";
    const token = await this.#sign(credentials, startedAt);
    return { credentials, token };
  }

  #timeoutError(phase: MintProgress["phase"], who: "caller" | "attempt"): RdsIamError {
    const options = this.#options;
    const ms = options.iamTimeout;
    const limit = ms * ATTEMPT_LIMIT_FACTOR;
    const after =
      who === "caller"
        ? `It goes on in the background for up to ${limit} ms, so a later connection may get its token.`
        : `It was abandoned after ${limit} ms; the next attempt starts afresh.`;
    const target = `${options.user}@${options.iamHost}:${options.iamDefaultPort}`;
    const option = this.#timeoutOption;
    if (phase === "signing") {
      return new RdsIamError(
        "TIMEOUT",
        `Signing the IAM token for ${target} did not finish within ${option} (${who === "caller" ? ms : limit} ms). ${after}`,
        { option },
      );
    }
    const source =
      typeof options.credentials === "function"
        ? "The credentials provider function you passed did not answer; once abandoned it is called again, so it must not keep returning the same call that never settles."
        : "The AWS credential source did not answer; once abandoned it is asked anew. Check the one in use: environment variables, the profile (awsProfile / AWS_PROFILE: shared config and credentials files, SSO, role assumption), web identity, the ECS container or EC2 instance metadata endpoint, or a credential_process that does not exit.";
    return new RdsIamError(
      "TIMEOUT",
      `Loading AWS credentials for ${target} did not finish within ${option} (${who === "caller" ? ms : limit} ms). ${after} ${source} Raise ${option} if the source is merely slow.`,
      { option },
    );
  }

  async #credentialsFor(
    provider: AwsCredentialIdentityProvider,
    now: number,
    progress: MintProgress,
  ): Promise<AwsCredentialIdentity> {
    this.#stats.credentialResolutions++;
    const force = this.#forceRefreshNext;
    if (force) {
      this.#forceRefreshNext = false;
      this.#lastForcedRefreshAt = now;
    }
    // A source that cannot refresh now still has the memoized credentials to offer
    // (unless this attempt was abandoned meanwhile: then it asks nothing more).
    const credentials = force
      ? await resolveCredentials(provider, true).catch((error: unknown) => {
          if (progress.abandoned !== undefined) throw progress.abandoned;
          this.#stats.credentialResolutions++;
          return resolveCredentials(provider, false).catch(() => {
            throw error;
          });
        })
      : await resolveCredentials(provider, false);
    const expiry = credentialExpiry(credentials);
    const needed = this.#options.iamTokenExpiration * 1000 + CREDENTIAL_EXPIRY_MARGIN_MS;
    if (expiry === undefined || expiry - now >= needed) return credentials;
    if (progress.abandoned !== undefined) throw progress.abandoned;

    // A token cannot outlive its credentials: ask for fresh ones (as the AWS signer
    // does), and keep the old ones if the refresh fails while they still work.
    let best = credentials;
    try {
      this.#stats.credentialResolutions++;
      const refreshed = await resolveCredentials(provider, true);
      if ((credentialExpiry(refreshed) ?? Number.POSITIVE_INFINITY) > expiry) best = refreshed;
    } catch (error) {
      if (expiry <= now) throw error;
    }
    const bestExpiry = credentialExpiry(best);
    if (bestExpiry !== undefined && bestExpiry <= now) {
      throw new RdsIamError(
        "CREDENTIALS_EXPIRED",
        `The AWS credentials (access key ${best.accessKeyId}) expired at ${new Date(bestExpiry).toISOString()} and could not be refreshed. Provide fresh credentials or a provider that refreshes them.`,
        { option: "credentials" },
      );
    }
    return best;
  }

  #sign(credentials: AwsCredentialIdentity, startedAt: number): Promise<string> {
    const options = this.#options;
    return generateAuthToken({
      hostname: options.iamHost,
      port: options.iamDefaultPort,
      username: options.user,
      region: options.region,
      credentials,
      // With an injected clock, sign at clock time so the token agrees with it.
      signingDate: options.customClock ? new Date(startedAt) : undefined,
    });
  }

  #schedule(entry: CachedToken): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#closed) return;
    const delay = Math.min(Math.max(0, entry.refreshAt - this.#options.clock()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // Refresh only tokens in use; an idle provider lets its token lapse.
      if (!this.#used) return;
      this.#used = false;
      this.#refreshInBackground(this.#options.clock());
    }, delay);
    this.#timer.unref();
  }
}

function closedError(): RdsIamError {
  return new RdsIamError("CLOSED", "This IAM token provider was closed; create a new one.");
}
