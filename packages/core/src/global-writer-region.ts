import type { AwsCredentialIdentity } from "@smithy/types";
import type { Clock } from "./clock";
import {
  DESCRIBE_PERMISSION,
  type DescribeWriterRegion,
  describeWriterRegion,
  fallback,
} from "./describe-global-cluster";
import { isRdsIamError, RdsIamError } from "./errors";
import { withTimeout } from "./with-timeout";

/** What a global writer endpoint's tokens are signed for: looked up, not parsed. */
export interface GlobalWriterTarget {
  /** The global cluster identifier (the endpoint's first label). */
  readonly globalClusterIdentifier: string;
  /** The region whose RDS API answers the look-up (the application's). */
  readonly apiRegion: string;
}

/** The region tokens are signed for now, and which look-up said so. */
export interface WriterRegion {
  readonly region: string;
  /** Increases with every completed look-up; a token remembers the one it was signed under. */
  readonly generation: number;
}

/**
 * A failed look-up answers the callers of the next second too (clock ms): a pool
 * opening ten connections against a missing permission asks the API once, not ten
 * times, and a fixed permission is seen a second later.
 */
const FAILURE_HOLD_MS = 1_000;
/**
 * After a rejection whose look-up found the writer where it was (the rejection had
 * another cause: a user without rds_iam, a revoked key), further rejections look it up
 * again at most this often (clock ms), so a misconfiguration does not cost a call per
 * connection. A look-up that found a move allows the next one at once.
 */
const CONFIRMED_RELOOKUP_INTERVAL_MS = 5_000;

/**
 * The region of a global cluster's writer, for one token source: looked up with
 * `DescribeGlobalClusters` on first use and cached; at most one look-up in flight
 * (concurrent callers share it); none per connection. A token the database rejects
 * marks it stale (see {@link GlobalWriterRegion.rejected}), so the retry that follows
 * signs for wherever a switchover or failover moved the writer.
 */
export class GlobalWriterRegion {
  readonly #target: GlobalWriterTarget;
  readonly #iamHost: string;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #timeoutOption: string;
  readonly #describe: DescribeWriterRegion;
  #known: WriterRegion | undefined;
  #stale = false;
  /** Whether the look-up to come was asked for by a rejection. */
  #staleByRejection = false;
  #inflight: Promise<WriterRegion> | undefined;
  #failure: { error: unknown; at: number } | undefined;
  /** The last look-up a rejection asked for: when it ended, and whether it found no move. */
  #lastRejectionLookup: { at: number; confirmed: boolean } | undefined;
  #generation = 0;
  #lookups = 0;

  constructor(
    target: GlobalWriterTarget,
    settings: {
      iamHost: string;
      clock: Clock;
      timeoutMs: number;
      timeoutOption?: string | undefined;
      describe?: DescribeWriterRegion | undefined;
    },
  ) {
    this.#target = target;
    this.#iamHost = settings.iamHost;
    this.#clock = settings.clock;
    this.#timeoutMs = settings.timeoutMs;
    this.#timeoutOption = settings.timeoutOption ?? "iamTimeout";
    this.#describe = settings.describe ?? describeWriterRegion;
  }

  /** The region last looked up (even if marked stale), or `undefined` before the first. */
  get known(): WriterRegion | undefined {
    return this.#known;
  }

  /** `DescribeGlobalClusters` calls made so far. */
  get lookups(): number {
    return this.#lookups;
  }

  /**
   * The writer's region: the cached one, or a look-up shared by every caller (bounded
   * by `iamTimeout`: it is aborted then). `credentials` are what the tokens are signed
   * with, resolved by the caller; `onLookup` is told when `DescribeGlobalClusters` is called.
   */
  region(
    credentials: () => Promise<AwsCredentialIdentity>,
    onLookup?: () => void,
  ): Promise<WriterRegion> {
    if (this.#known !== undefined && !this.#stale) return Promise.resolve(this.#known);
    if (this.#inflight !== undefined) return this.#inflight;
    const failure = this.#failure;
    const now = this.#clock();
    if (failure !== undefined && now - failure.at < FAILURE_HOLD_MS && now >= failure.at) {
      return Promise.reject(failure.error);
    }
    this.#inflight = this.#lookup(credentials, onLookup).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /**
   * The database rejected a token signed under look-up `generation`. If nothing newer
   * is known, the next {@link GlobalWriterRegion.region} looks the writer up again:
   * the rejection may be a cross-Region failover. Rejections of tokens older than the
   * last look-up, and repeated ones after a look-up that found no move, ask nothing.
   */
  rejected(generation: number): void {
    if (this.#known === undefined || generation !== this.#known.generation || this.#stale) return;
    const last = this.#lastRejectionLookup;
    const now = this.#clock();
    if (
      last?.confirmed === true &&
      now - last.at < CONFIRMED_RELOOKUP_INTERVAL_MS &&
      now >= last.at
    ) {
      return;
    }
    this.#stale = true;
    this.#staleByRejection = true;
  }

  async #lookup(
    credentials: () => Promise<AwsCredentialIdentity>,
    onLookup: (() => void) | undefined,
  ): Promise<WriterRegion> {
    const byRejection = this.#staleByRejection;
    const previous = this.#known?.region;
    const controller = new AbortController();
    try {
      // The whole look-up, credentials included, settles within iamTimeout: a source or
      // an API that never answers must not leave a look-up in flight that every later
      // caller would join. The request is aborted then; a late answer is dropped.
      const region = await withTimeout(
        (async () => {
          const identity = await credentials();
          if (controller.signal.aborted) throw this.#timeoutError();
          this.#lookups++;
          onLookup?.();
          return this.#describe({
            globalClusterIdentifier: this.#target.globalClusterIdentifier,
            iamHost: this.#iamHost,
            apiRegion: this.#target.apiRegion,
            credentials: identity,
            signal: controller.signal,
          });
        })(),
        this.#timeoutMs,
        () => {
          controller.abort();
          return this.#timeoutError();
        },
      );
      this.#generation++;
      this.#known = { region, generation: this.#generation };
      this.#stale = false;
      this.#staleByRejection = false;
      this.#failure = undefined;
      if (byRejection) {
        this.#lastRejectionLookup = { at: this.#clock(), confirmed: region === previous };
      }
      return this.#known;
    } catch (error) {
      const typed = isRdsIamError(error) ? error : this.#unexpected(error);
      this.#failure = { error: typed, at: this.#clock() };
      throw typed;
    }
  }

  #timeoutError(): RdsIamError {
    const { globalClusterIdentifier, apiRegion } = this.#target;
    return new RdsIamError(
      "TIMEOUT",
      `Looking up the writer of Aurora global database ${JSON.stringify(globalClusterIdentifier)} (${this.#iamHost}) with DescribeGlobalClusters in ${apiRegion} did not finish within ${this.#timeoutOption} (${this.#timeoutMs} ms). It needs the RDS API (or AWS_ENDPOINT_URL_RDS) to be reachable and ${DESCRIBE_PERMISSION}; raise ${this.#timeoutOption} if it is merely slow, or ${fallback()}`,
      { option: this.#timeoutOption },
    );
  }

  #unexpected(error: unknown): RdsIamError {
    return new RdsIamError(
      "GLOBAL_WRITER_LOOKUP_FAILED",
      `Could not look up the writer of Aurora global database ${JSON.stringify(this.#target.globalClusterIdentifier)} (${this.#iamHost}). The look-up needs ${DESCRIBE_PERMISSION}; or ${fallback()}`,
      { option: "iamRegion", cause: error },
    );
  }
}
