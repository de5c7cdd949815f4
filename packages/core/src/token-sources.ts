import type { ResolvedIamOptions } from "./options";
import { credentialSource } from "./shared-credentials";
import { TokenCache } from "./token-cache";
import { TokenSource } from "./token-source";

/**
 * Sources kept per process. One holds at most a few cached tokens; beyond this many,
 * sources no provider is attached to are forgotten, oldest first.
 */
const MAX_SOURCES = 256;

const sources = new Map<string, TokenSource>();
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/**
 * The process's token source for these resolved options: the same signing target
 * (region, `iamHost`, `iamDefaultPort`, user), the same credential source (default
 * chain per `awsProfile`, the same provider function, or the same static keys), the
 * same `iamTokenExpiration`, `iamTimeout`, clock and token cache. Every provider that
 * matches shares one cache entry, one mint in flight and one refresh timer, so a new
 * ORM object for a target another one already uses starts with its current token.
 * The host and port the driver dials are not part of it: a tunnel and a direct route
 * to one endpoint share a token.
 */
export function tokenSourceFor(
  options: ResolvedIamOptions,
  tokenCache: TokenCache | undefined,
): TokenSource {
  const credentials = credentialSource(options.credentials, options.awsProfile);
  const key = [
    options.region,
    options.iamHost,
    options.iamDefaultPort,
    options.user,
    options.iamTokenExpiration,
    options.iamTimeout,
    credentials.key,
    options.customClock ? `clock:${objectId(options.clock)}` : "clock",
    tokenCache === undefined ? "cache" : `cache:${objectId(tokenCache)}`,
  ].join("\0");
  const found = sources.get(key);
  if (found !== undefined) {
    // Most recently used last, so eviction finds the stale ones first.
    sources.delete(key);
    sources.set(key, found);
    return found;
  }
  const source = new TokenSource(
    options,
    credentials,
    tokenCache ?? new TokenCache({ maxEntries: 16 }),
  );
  sources.set(key, source);
  evict();
  return source;
}

function evict(): void {
  if (sources.size <= MAX_SOURCES) return;
  for (const [key, source] of sources) {
    if (sources.size <= MAX_SOURCES) return;
    if (source.attached === 0) sources.delete(key);
  }
}

function objectId(value: object): number {
  let id = objectIds.get(value);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(value, id);
  }
  return id;
}
