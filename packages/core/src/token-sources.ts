import type { ResolvedIamOptions } from "./options";
import { credentialSource } from "./shared-credentials";
import { TokenCache } from "./token-cache";
import { TokenSource } from "./token-source";

/** Sources kept per process (each holds a few cached tokens); see `evict`. */
const MAX_SOURCES = 256;

const sources = new Map<string, TokenSource>();
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/**
 * The process's token source for these resolved options: the same signing target
 * (region, or for a global writer endpoint the region its writer is looked up in;
 * `iamHost`, `iamDefaultPort`, user), the same credential source (default
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
  // JSON, not a separator: a user name or profile holding the separator must not make
  // two different targets one key.
  const key = JSON.stringify([
    // A global writer endpoint's region changes: the source is keyed on where it is
    // looked up, and keys its tokens by the region each was signed for.
    options.region ?? ["DescribeGlobalClusters", options.globalWriter?.apiRegion],
    options.iamHost,
    options.iamDefaultPort,
    options.user,
    options.iamTokenExpiration,
    options.iamTimeout,
    credentials.key,
    options.customClock ? `clock:${objectId(options.clock)}` : "clock",
    tokenCache === undefined ? "cache" : `cache:${objectId(tokenCache)}`,
  ]);
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
  // Room first, so the source just made (attached to nothing yet) is never the one dropped.
  evict(MAX_SOURCES - 1);
  sources.set(key, source);
  return source;
}

/**
 * Keeps the registry bounded: sources no provider is attached to go first, oldest
 * first, then the oldest whatever their state (a provider dropped without `close()`
 * stays attached). A provider keeps the source it has; only new providers for that
 * target start a source of their own. A forgotten source is collected once its
 * providers are: its refresh timer is `unref`ed and stops when its token lapses unused.
 */
function evict(keep: number): void {
  for (const [key, source] of sources) {
    if (sources.size <= keep) return;
    if (source.attached === 0) sources.delete(key);
  }
  for (const key of sources.keys()) {
    if (sources.size <= keep) return;
    sources.delete(key);
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

/** How many sources the process keeps now (for tests of the bound). */
export function sourceCount(): number {
  return sources.size;
}
