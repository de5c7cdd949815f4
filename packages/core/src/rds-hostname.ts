/** Which RDS endpoint a hostname names. */
export type RdsEndpointKind =
  | "instance"
  | "cluster"
  | "cluster-ro"
  | "cluster-custom"
  | "proxy"
  | "proxy-endpoint"
  | "shard-group"
  | "global";

/** What an RDS hostname says about itself. */
export interface RdsHostname {
  /** Lower-cased, without a trailing dot: the form tokens are signed for. */
  readonly hostname: string;
  /**
   * The instance, cluster, proxy, shard group or endpoint name (first label); for an
   * Aurora global writer endpoint, the global cluster identifier.
   */
  readonly name: string;
  /** Which endpoint: instance, cluster writer or reader, proxy, global, ... */
  readonly kind: RdsEndpointKind;
  /** `undefined` only for Aurora global writer endpoints, which name no region. */
  readonly region: string | undefined;
  /** AWS partition: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, ... */
  readonly partition: string;
  /** True for `rds-fips` endpoints. */
  readonly fips: boolean;
}

const NAME = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";
// A region's shape, never a list: new regions appear every year.
const REGION = "[a-z]{2,}(?:-[a-z0-9]+)*-[0-9]+";
// Partition DNS suffixes. `amazonaws.<cc>` covers the newer sovereign partitions.
const SUFFIX =
  "amazonaws\\.com\\.cn|amazonaws\\.com|amazonaws\\.[a-z]{2}|c2s\\.ic\\.gov|sc2s\\.sgov\\.gov|cloud\\.adc-e\\.uk|csp\\.hci\\.ic\\.gov";
const SERVICE = "rds|rds-fips";
const PREFIX = "cluster-ro-|cluster-custom-|cluster-|proxy-|shardgrp-";

// `<name>.<prefix><id>.<region>.rds.<suffix>` (most partitions, older China) or
// `<name>.<prefix><id>.rds.<region>.<suffix>` (current China, GovCloud, isolated).
const STANDARD = new RegExp(
  `^(?<name>${NAME})\\.(?<prefix>${PREFIX})?[a-z0-9]+\\.` +
    `(?:(?<regionA>${REGION})\\.(?<serviceA>${SERVICE})|(?<serviceB>${SERVICE})\\.(?<regionB>${REGION}))` +
    `\\.(?<suffix>${SUFFIX})$`,
);
const PROXY_ENDPOINT = new RegExp(
  `^(?<name>${NAME})\\.endpoint\\.proxy-[a-z0-9]+\\.` +
    `(?:(?<regionA>${REGION})\\.(?<serviceA>${SERVICE})|(?<serviceB>${SERVICE})\\.(?<regionB>${REGION}))` +
    `\\.(?<suffix>${SUFFIX})$`,
);
// `<name>.global-<id>.global.rds.amazonaws.com`. The AWS wrappers (JDBC, Node.js and
// Ruby) accept the `global-` prefix as optional; so do we. `<name>` is the global
// cluster's identifier (its first label; an identifier holds no dot).
const GLOBAL = new RegExp(
  `^(?<name>${NAME})\\.(?:global-)?[a-z0-9]+\\.global\\.rds\\.amazonaws\\.com$`,
);

const KIND_BY_PREFIX: Readonly<Record<string, RdsEndpointKind>> = {
  "cluster-": "cluster",
  "cluster-ro-": "cluster-ro",
  "cluster-custom-": "cluster-custom",
  "proxy-": "proxy",
  "shardgrp-": "shard-group",
};

const PARTITION_BY_SUFFIX: Readonly<Record<string, string>> = {
  "amazonaws.com": "aws",
  "amazonaws.com.cn": "aws-cn",
  "amazonaws.eu": "aws-eusc",
  "c2s.ic.gov": "aws-iso",
  "sc2s.sgov.gov": "aws-iso-b",
  "cloud.adc-e.uk": "aws-iso-e",
  "csp.hci.ic.gov": "aws-iso-f",
};

/**
 * Parses an RDS / Aurora endpoint hostname. Case-insensitive; a trailing dot is
 * allowed. Returns `undefined` for anything that is not an RDS endpoint (IP
 * addresses, custom domains, load balancers).
 */
export function parseRdsHostname(hostname: string): RdsHostname | undefined {
  if (typeof hostname !== "string") return undefined;
  let host = hostname.trim().toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253) return undefined;

  const global = GLOBAL.exec(host);
  if (global?.groups) {
    const name = global.groups.name ?? "";
    return {
      hostname: host,
      name,
      kind: "global",
      region: undefined,
      partition: "aws",
      fips: false,
    };
  }

  const proxyEndpoint = PROXY_ENDPOINT.exec(host);
  const match = proxyEndpoint ?? STANDARD.exec(host);
  const groups = match?.groups;
  if (!groups) return undefined;

  const region = groups.regionA ?? groups.regionB ?? "";
  const suffix = groups.suffix ?? "";
  const partition = partitionOf(suffix, region);
  // China regions live only under `.com.cn`; `...rds.cn-north-1.amazonaws.com` is
  // a mistyped name, not an endpoint.
  if (region.startsWith("cn-") && partition !== "aws-cn") return undefined;

  const kind: RdsEndpointKind = proxyEndpoint
    ? "proxy-endpoint"
    : (KIND_BY_PREFIX[groups.prefix ?? ""] ?? "instance");
  return {
    hostname: host,
    name: groups.name ?? "",
    kind,
    region,
    partition,
    fips: (groups.serviceA ?? groups.serviceB) === "rds-fips",
  };
}

function partitionOf(suffix: string, region: string): string {
  if (suffix === "amazonaws.com" && region.startsWith("us-gov-")) return "aws-us-gov";
  const known = PARTITION_BY_SUFFIX[suffix];
  if (known !== undefined) return known;
  // A newer `amazonaws.<cc>` partition we have no name for yet.
  return `aws-${suffix.slice(suffix.lastIndexOf(".") + 1)}`;
}
