import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { credentialExpiry, credentialIdentityKey, resolveCredentials } from "./credentials";
import { isRdsIamError, RdsIamError } from "./errors";
import { generateAuthToken } from "./generate-auth-token";
import { GlobalWriterRegion } from "./global-writer-region";
import type { ResolvedIamOptions } from "./options";
import type { CredentialSource } from "./shared-credentials";
import type { CachedToken, TokenCache } from "./token-cache";
import { withTimeout } from "./with-timeout";

/** Counters one provider (handle) keeps of the work it caused; see `IamAuthStats`. */
export interface StatsSink {
  mints: number;
  cacheHits: number;
  credentialResolutions: number;
  failures: number;
  invalidations: number;
  refreshesAhead: number;
  writerLookups: number;
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
export const ATTEMPT_LIMIT_FACTOR = 10;

/** How far one mint got: what a timeout reports as hung. */
interface MintProgress {
  phase: "writer" | "credentials" | "signing";
  /** Set when the deadline passed: the attempt stops at its next step. */
  abandoned: RdsIamError | undefined;
}

/**
 * The tokens for one signing target (region, endpoint, port, user) and one credential
 * source, shared by every provider in the process that asks for the same (see
 * `token-sources.ts`): one cache entry, one mint in flight, one refresh timer. Work is
 * counted on the stats of the provider that caused it.
 *
 * Cache semantics: single flight (concurrent callers share one mint; a failed mint is
 * not cached), refresh ahead (a used token is re-minted in the background before it
 * expires), lifetime = min(`iamTokenExpiration`, credential expiry - 60 s) from the
 * moment minting starts, key includes the credential identity, `unref`ed refresh
 * timers, injectable clock. The refresh timer runs only while some provider is
 * attached (not closed, its ORM object not destroyed).
 */
export class TokenSource {
  readonly #options: ResolvedIamOptions;
  readonly #credentials: CredentialSource;
  readonly #cache: TokenCache;
  /** Set for an Aurora global writer endpoint without `iamRegion`: where the region comes from. */
  readonly #writer: GlobalWriterRegion | undefined;
  #currentKey: string | undefined;
  /** The region the current token was signed for, and the writer look-up it was signed under. */
  #currentRegion: string | undefined;
  #currentGeneration = 0;
  #inflight: Promise<CachedToken> | undefined;
  /** How far the attempt in flight got, for the message of a caller's timeout. */
  #progress: MintProgress | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Whether the token was asked for since the last refresh timer fired. */
  #used = false;
  /** The provider that asked last (and how it spells `iamTimeout`): a timer's refresh is counted on it. */
  #lastUser: { stats: StatsSink; timeoutOption: string } | undefined;
  #attached = 0;
  #nextBackgroundAttemptAt = Number.NEGATIVE_INFINITY;
  #backoffMs = MIN_BACKOFF_MS;
  /** The next mint asks the credential source for fresh credentials (after a rejection). */
  #forceRefreshNext = false;
  #lastForcedRefreshAt = Number.NEGATIVE_INFINITY;

  constructor(options: ResolvedIamOptions, credentials: CredentialSource, cache: TokenCache) {
    this.#options = options;
    this.#credentials = credentials;
    this.#cache = cache;
    this.#writer =
      options.globalWriter === undefined
        ? undefined
        : new GlobalWriterRegion(options.globalWriter, {
            iamHost: options.iamHost,
            clock: options.clock,
            timeoutMs: options.iamTimeout,
          });
  }

  /**
   * The region tokens are signed for: the options' (parsed, configured or given), or for
   * a global writer endpoint the writer's as last looked up (`undefined` before that).
   */
  get region(): string | undefined {
    return this.#options.region ?? this.#writer?.known?.region;
  }

  /** Providers attached now (not closed, not paused). */
  get attached(): number {
    return this.#attached;
  }

  /** A provider starts (or resumes) using this source: the refresh timer runs again. */
  attach(): void {
    this.#attached++;
    if (this.#attached !== 1 || this.#timer !== undefined || this.#currentKey === undefined) return;
    const entry = this.#cache.get(this.#currentKey);
    if (entry !== undefined && this.#options.clock() < entry.expiresAt) this.#schedule(entry);
  }

  /** A provider stopped (closed, or its ORM object destroyed): the last one stops the timer. */
  detach(): void {
    this.#attached = Math.max(0, this.#attached - 1);
    if (this.#attached === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * The cached token, or the shared mint as `stats`' caller waits for it: at most
   * `iamTimeout`, then `TIMEOUT` naming `timeoutOption`. The attempt itself goes on (a
   * slow source still fills the cache for the next caller) until it is abandoned at
   * {@link ATTEMPT_LIMIT_FACTOR} times that.
   */
  token(stats: StatsSink, timeoutOption: string): Promise<CachedToken> {
    const entry = this.#cached(stats, timeoutOption);
    if (entry !== undefined) return Promise.resolve(entry);
    const shared = this.#mintShared(stats, timeoutOption);
    const progress = this.#progress;
    return withTimeout(shared, this.#options.iamTimeout, () =>
      this.#timeoutError(progress?.phase ?? "credentials", "caller", timeoutOption),
    );
  }

  /**
   * Drops the cached token (only if it is still `token`, when given) and makes the next
   * mint ask for fresh credentials, at most every 5 s; for a global writer endpoint, also
   * look the writer up again (see `GlobalWriterRegion.rejected`). Returns whether it
   * dropped one.
   */
  invalidate(token?: string): boolean {
    if (this.#currentKey === undefined) return false;
    if (!this.#cache.delete(this.#currentKey, token)) return false;
    // A cross-Region failover rejects every token signed for the old writer's region:
    // the retry that follows must sign for the new one.
    this.#writer?.rejected(this.#currentGeneration);
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
    return true;
  }

  /** The cached token while it may be handed out (a use: may start a refresh ahead). */
  #cached(stats: StatsSink, timeoutOption: string): CachedToken | undefined {
    const now = this.#options.clock();
    const entry = this.#currentKey === undefined ? undefined : this.#cache.get(this.#currentKey);
    this.#used = true;
    this.#lastUser = { stats, timeoutOption };
    if (entry === undefined || now >= entry.expiresAt) return undefined;
    // Never hand out a token signed for a region the writer has since left.
    const writer = this.#writer?.known;
    if (writer !== undefined && writer.region !== this.#currentRegion) return undefined;
    stats.cacheHits++;
    if (now >= entry.refreshAt) this.#refreshInBackground(now, stats, timeoutOption);
    return entry;
  }

  #mintShared(stats: StatsSink, timeoutOption: string): Promise<CachedToken> {
    if (this.#inflight === undefined) {
      this.#inflight = this.#mint(stats, timeoutOption).finally(() => {
        this.#inflight = undefined;
      });
    }
    return this.#inflight;
  }

  #refreshInBackground(now: number, stats: StatsSink, timeoutOption: string): void {
    if (this.#inflight !== undefined || now < this.#nextBackgroundAttemptAt) return;
    stats.refreshesAhead++;
    this.#mintShared(stats, timeoutOption).then(
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

  async #mint(stats: StatsSink, timeoutOption: string): Promise<CachedToken> {
    const options = this.#options;
    const startedAt = options.clock();
    // The attempt keeps the provider it started with: if it hangs and the provider is
    // replaced, its late steps must not touch the new one.
    const provider = this.#credentials.current();
    const progress: MintProgress = { phase: "credentials", abandoned: undefined };
    this.#progress = progress;
    try {
      // Only the attempt that beats the deadline gets here; a late one is dropped by
      // withTimeout and never reaches the cache, the stats or the refresh timer.
      const { credentials, token, region, generation } = await withTimeout(
        this.#attempt(provider, startedAt, progress, stats),
        options.iamTimeout * ATTEMPT_LIMIT_FACTOR,
        () => {
          progress.abandoned = this.#timeoutError(progress.phase, "attempt", timeoutOption);
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
      // JSON, not a separator (a user name may hold one); the lifetime too, so that
      // sources sharing a caller's TokenCache never hand out each other's longer tokens;
      // the region, so that a token signed before a failover is never one after it.
      const key = `${JSON.stringify([
        region,
        options.iamHost,
        options.iamDefaultPort,
        options.user,
        options.iamTokenExpiration,
      ])}\0${credentialIdentityKey(credentials)}`;
      this.#cache.set(key, entry);
      this.#currentKey = key;
      this.#currentRegion = region;
      this.#currentGeneration = generation;
      stats.mints++;
      this.#schedule(entry);
      return entry;
    } catch (error) {
      stats.failures++;
      if (progress.abandoned !== undefined) this.#credentials.replaceHung(provider);
      if (isRdsIamError(error)) throw error;
      throw new RdsIamError(
        "TOKEN_GENERATION_FAILED",
        `Could not sign an IAM token for ${options.user}@${options.iamHost}:${options.iamDefaultPort} in ${this.region ?? "the global writer's region"}.`,
        { cause: error },
      );
    }
  }

  /**
   * The region (a global writer's: cached, or looked up), credentials, then the
   * signature; stops between steps once the deadline passed.
   */
  async #attempt(
    provider: AwsCredentialIdentityProvider,
    startedAt: number,
    progress: MintProgress,
    stats: StatsSink,
  ): Promise<{
    credentials: AwsCredentialIdentity;
    token: string;
    region: string;
    generation: number;
  }> {
    let region = this.#options.region ?? "";
    let generation = 0;
    if (this.#writer !== undefined) {
      progress.phase = "writer";
      // The look-up asks with the credentials the token is signed with.
      const writer = await this.#writer.region(
        () => {
          stats.credentialResolutions++;
          return resolveCredentials(provider, false);
        },
        () => {
          stats.writerLookups++;
        },
      );
      if (progress.abandoned !== undefined) throw progress.abandoned;
      region = writer.region;
      generation = writer.generation;
      progress.phase = "credentials";
    }
    const credentials = await this.#credentialsFor(provider, startedAt, progress, stats);
    if (progress.abandoned !== undefined) throw progress.abandoned;
    progress.phase = "signing";
    const token = await this.#sign(credentials, startedAt, region);
    return { credentials, token, region, generation };
  }

  #timeoutError(
    phase: MintProgress["phase"],
    who: "caller" | "attempt",
    option: string,
  ): RdsIamError {
    const options = this.#options;
    const ms = options.iamTimeout;
    const limit = ms * ATTEMPT_LIMIT_FACTOR;
    const after =
      who === "caller"
        ? `It goes on in the background for up to ${limit} ms, so a later connection may get its token.`
        : `It was abandoned after ${limit} ms; the next attempt starts afresh.`;
    const target = `${options.user}@${options.iamHost}:${options.iamDefaultPort}`;
    if (phase === "writer") {
      return new RdsIamError(
        "TIMEOUT",
        `Looking up the writer of the Aurora global database behind ${options.iamHost} (DescribeGlobalClusters in ${options.globalWriter?.apiRegion}) for ${target} did not finish within ${option} (${who === "caller" ? ms : limit} ms). ${after} It needs the RDS API (or AWS_ENDPOINT_URL_RDS) to be reachable and rds:DescribeGlobalClusters; raise ${option} if it is merely slow, or set iamRegion to the writer's region to sign without a look-up.`,
        { option },
      );
    }
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
    stats: StatsSink,
  ): Promise<AwsCredentialIdentity> {
    stats.credentialResolutions++;
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
          stats.credentialResolutions++;
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
      stats.credentialResolutions++;
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

  #sign(credentials: AwsCredentialIdentity, startedAt: number, region: string): Promise<string> {
    const options = this.#options;
    return generateAuthToken({
      hostname: options.iamHost,
      port: options.iamDefaultPort,
      username: options.user,
      region,
      credentials,
      // With an injected clock, sign at clock time so the token agrees with it.
      signingDate: options.customClock ? new Date(startedAt) : undefined,
    });
  }

  #schedule(entry: CachedToken): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // No provider attached (all closed or their ORM objects destroyed): no background work.
    if (this.#attached === 0) return;
    const delay = Math.min(Math.max(0, entry.refreshAt - this.#options.clock()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // Refresh only tokens in use; an idle source lets its token lapse.
      const user = this.#lastUser;
      if (!this.#used || user === undefined) return;
      this.#used = false;
      this.#refreshInBackground(this.#options.clock(), user.stats, user.timeoutOption);
    }, delay);
    this.#timer.unref();
  }
}
