import { describeValue } from "./engine";
import { RdsIamError } from "./errors";
import { readOptions } from "./read-options";

/** A token and the times that govern it, all in clock milliseconds. */
export interface CachedToken {
  /** The token: a secret. Never log it. */
  readonly token: string;
  /** When minting started (the credentials were fetched after this). */
  readonly mintedAt: number;
  /** After this, the token is never handed out. */
  readonly expiresAt: number;
  /** From here on, a use triggers a background re-mint. */
  readonly refreshAt: number;
}

/** Options for {@link TokenCache}. */
export interface TokenCacheOptions {
  /** Most entries kept; the least recently used goes first. Default 1000. */
  readonly maxEntries?: number;
}

/**
 * A bounded LRU map from a token key (region, signing host and port, user,
 * credential identity) to a token. Share one between token providers to share
 * tokens; each provider has its own by default.
 *
 * It holds tokens, so it never shows them: `util.inspect` and `JSON.stringify`
 * print only its size.
 */
export class TokenCache {
  /** Most entries kept (default 1000). */
  readonly maxEntries: number;
  readonly #entries = new Map<string, CachedToken>();

  constructor(options: TokenCacheOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new RdsIamError(
        "INVALID_OPTION",
        "TokenCache takes an options object: { maxEntries }.",
        {
          option: "options",
        },
      );
    }
    const max = readOptions(options, "TokenCache options").maxEntries ?? 1000;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > 1_000_000) {
      throw new RdsIamError(
        "INVALID_OPTION",
        `maxEntries must be a whole number from 1 to 1000000 (got ${describeValue(max)}); omit it for the default of 1000.`,
        { option: "maxEntries" },
      );
    }
    this.maxEntries = max;
  }

  /** Entries held now, expired ones included until {@link TokenCache.prune}. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `key`, expired or not (callers check `expiresAt`); marks it recently used. */
  get(key: string): CachedToken | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    // Re-insert to mark it most recently used (Map keeps insertion order).
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  /** Stores `entry` under `key`, evicting the least recently used entries beyond `maxEntries`. */
  set(key: string, entry: CachedToken): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Drops the entry for `key`, or only if it still holds `token` when one is given. */
  delete(key: string, token?: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined || (token !== undefined && entry.token !== token)) return false;
    return this.#entries.delete(key);
  }

  /** Drops every entry that expired by `now`. */
  prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }

  /** Size and capacity only: never the tokens. */
  toJSON(): { size: number; maxEntries: number } {
    return { size: this.size, maxEntries: this.maxEntries };
  }

  /** What `util.inspect` prints: size and capacity only, never the tokens. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `TokenCache { size: ${this.size}, maxEntries: ${this.maxEntries} }`;
  }
}
