import { describe, expect, it } from "vitest";
import { isIpAddress } from "../src/ip-address";
import { parseRdsHostname, type RdsEndpointKind } from "../src/rds-hostname";

type Row = [
  host: string,
  kind: RdsEndpointKind,
  region: string | undefined,
  partition: string,
  fips?: boolean,
];

const RDS_HOSTS: Row[] = [
  ["mydb.cluster-abc123.us-east-1.rds.amazonaws.com", "cluster", "us-east-1", "aws"],
  ["mydb.cluster-ro-abc123.us-east-1.rds.amazonaws.com", "cluster-ro", "us-east-1", "aws"],
  [
    "myalias.cluster-custom-abc123.eu-west-1.rds.amazonaws.com",
    "cluster-custom",
    "eu-west-1",
    "aws",
  ],
  ["instance-1.abc123.ap-southeast-2.rds.amazonaws.com", "instance", "ap-southeast-2", "aws"],
  ["myproxy.proxy-abc123.us-west-2.rds.amazonaws.com", "proxy", "us-west-2", "aws"],
  [
    "reader.endpoint.proxy-abc123.us-west-2.rds.amazonaws.com",
    "proxy-endpoint",
    "us-west-2",
    "aws",
  ],
  ["limitless.shardgrp-abc123.us-east-2.rds.amazonaws.com", "shard-group", "us-east-2", "aws"],
  ["mydb.global-abc123.global.rds.amazonaws.com", "global", undefined, "aws"],
  // China, current and older layouts.
  [
    "mydb.cluster-abc123.rds.cn-northwest-1.amazonaws.com.cn",
    "cluster",
    "cn-northwest-1",
    "aws-cn",
  ],
  ["mydb.abc123.rds.cn-north-1.amazonaws.com.cn", "instance", "cn-north-1", "aws-cn"],
  [
    "mydb.cluster-ro-abc123.cn-northwest-1.rds.amazonaws.com.cn",
    "cluster-ro",
    "cn-northwest-1",
    "aws-cn",
  ],
  ["p.proxy-abc123.rds.cn-northwest-1.amazonaws.com.cn", "proxy", "cn-northwest-1", "aws-cn"],
  [
    "s.shardgrp-abc123.cn-northwest-1.rds.amazonaws.com.cn",
    "shard-group",
    "cn-northwest-1",
    "aws-cn",
  ],
  // GovCloud, both layouts.
  ["mydb.cluster-abc123.rds.us-gov-west-1.amazonaws.com", "cluster", "us-gov-west-1", "aws-us-gov"],
  ["mydb.abc123.us-gov-east-1.rds.amazonaws.com", "instance", "us-gov-east-1", "aws-us-gov"],
  // Isolated partitions.
  ["mydb.cluster-abc123.rds.us-iso-east-1.c2s.ic.gov", "cluster", "us-iso-east-1", "aws-iso"],
  [
    "mydb.cluster-ro-abc123.rds.us-isob-east-1.sc2s.sgov.gov",
    "cluster-ro",
    "us-isob-east-1",
    "aws-iso-b",
  ],
  [
    "s.shardgrp-abc123.rds.us-isob-east-1.sc2s.sgov.gov",
    "shard-group",
    "us-isob-east-1",
    "aws-iso-b",
  ],
  // FIPS.
  [
    "mydb.cluster-abc123.rds-fips.us-gov-west-1.amazonaws.com",
    "cluster",
    "us-gov-west-1",
    "aws-us-gov",
    true,
  ],
  ["mydb.abc123.us-east-1.rds-fips.amazonaws.com", "instance", "us-east-1", "aws", true],
  // Newer partitions and regions nobody has heard of yet: no region list.
  ["mydb.cluster-abc123.eusc-de-east-1.rds.amazonaws.eu", "cluster", "eusc-de-east-1", "aws-eusc"],
  ["mydb.abc123.xx-future-9.rds.amazonaws.com", "instance", "xx-future-9", "aws"],
  // Proxy endpoints outside the commercial layout, FIPS in the isolated partitions, the
  // older layout under amazonaws.eu, and the two newest isolated partitions.
  [
    "ro.endpoint.proxy-abc123.rds.cn-north-1.amazonaws.com.cn",
    "proxy-endpoint",
    "cn-north-1",
    "aws-cn",
  ],
  [
    "ro.endpoint.proxy-abc123.cn-north-1.rds.amazonaws.com.cn",
    "proxy-endpoint",
    "cn-north-1",
    "aws-cn",
  ],
  [
    "ro.endpoint.proxy-abc123.rds-fips.us-gov-west-1.amazonaws.com",
    "proxy-endpoint",
    "us-gov-west-1",
    "aws-us-gov",
    true,
  ],
  ["mydb.abc123.rds-fips.us-iso-east-1.c2s.ic.gov", "instance", "us-iso-east-1", "aws-iso", true],
  ["mydb.abc123.eusc-de-east-1.rds.amazonaws.eu", "instance", "eusc-de-east-1", "aws-eusc"],
  ["mydb.abc123.rds.eu-isoe-west-1.cloud.adc-e.uk", "instance", "eu-isoe-west-1", "aws-iso-e"],
  ["mydb.abc123.rds.us-isof-south-1.csp.hci.ic.gov", "instance", "us-isof-south-1", "aws-iso-f"],
  // Case and trailing dot.
  ["MYDB.GLOBAL-ABC123.GLOBAL.RDS.AMAZONAWS.COM.", "global", undefined, "aws"],
  ["MyDB.Cluster-ABC123.US-EAST-1.RDS.AMAZONAWS.COM", "cluster", "us-east-1", "aws"],
  ["mydb.cluster-abc123.us-east-1.rds.amazonaws.com.", "cluster", "us-east-1", "aws"],
];

/*
 * Every well-formed hostname in the AWS Advanced NodeJS Wrapper's RdsUtils unit tests
 * (their `XYZ` ids and `*-test-name` labels), with the kind and region the wrapper
 * reports for it. The wrapper reads a shard group, proxy or custom endpoint in every
 * layout; so do we. Its deliberately broken names are in NOT_RDS below.
 */
const WRAPPER_HOSTS: Row[] = [
  // Commercial regions: `<id>.<region>.rds.amazonaws.com`.
  ["database-test-name.cluster-XYZ.us-east-2.rds.amazonaws.com", "cluster", "us-east-2", "aws"],
  [
    "database-test-name.cluster-ro-XYZ.us-east-2.rds.amazonaws.com",
    "cluster-ro",
    "us-east-2",
    "aws",
  ],
  ["instance-test-name.XYZ.us-east-2.rds.amazonaws.com", "instance", "us-east-2", "aws"],
  ["proxy-test-name.proxy-XYZ.us-east-2.rds.amazonaws.com", "proxy", "us-east-2", "aws"],
  [
    "custom-test-name.cluster-custom-XYZ.us-east-2.rds.amazonaws.com",
    "cluster-custom",
    "us-east-2",
    "aws",
  ],
  [
    "database-test-name.shardgrp-XYZ.us-east-2.rds.amazonaws.com",
    "shard-group",
    "us-east-2",
    "aws",
  ],
  ["foo.cluster-xyz.us-west-1.rds.amazonaws.com", "cluster", "us-west-1", "aws"],
  ["foo.cluster-ro-xyz.us-west-1.rds.amazonaws.com", "cluster-ro", "us-west-1", "aws"],
  // China, current layout: `<id>.rds.<region>.amazonaws.com.cn`.
  [
    "database-test-name.cluster-XYZ.rds.cn-northwest-1.amazonaws.com.cn",
    "cluster",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "database-test-name.cluster-ro-XYZ.rds.cn-northwest-1.amazonaws.com.cn",
    "cluster-ro",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "instance-test-name.XYZ.rds.cn-northwest-1.amazonaws.com.cn",
    "instance",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "proxy-test-name.proxy-XYZ.rds.cn-northwest-1.amazonaws.com.cn",
    "proxy",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "custom-test-name.cluster-custom-XYZ.rds.cn-northwest-1.amazonaws.com.cn",
    "cluster-custom",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "database-test-name.shardgrp-XYZ.rds.cn-northwest-1.amazonaws.com.cn",
    "shard-group",
    "cn-northwest-1",
    "aws-cn",
  ],
  // China, older layout: `<id>.<region>.rds.amazonaws.com.cn`.
  [
    "database-test-name.cluster-XYZ.cn-northwest-1.rds.amazonaws.com.cn",
    "cluster",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "database-test-name.cluster-ro-XYZ.cn-northwest-1.rds.amazonaws.com.cn",
    "cluster-ro",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "instance-test-name.XYZ.cn-northwest-1.rds.amazonaws.com.cn",
    "instance",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "proxy-test-name.proxy-XYZ.cn-northwest-1.rds.amazonaws.com.cn",
    "proxy",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "custom-test-name.cluster-custom-XYZ.cn-northwest-1.rds.amazonaws.com.cn",
    "cluster-custom",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "database-test-name.shardgrp-XYZ.cn-northwest-1.rds.amazonaws.com.cn",
    "shard-group",
    "cn-northwest-1",
    "aws-cn",
  ],
  // The wrapper's cluster-URL test puts a non-China region under `.com.cn`, both layouts;
  // the suffix decides the partition, and no region list says otherwise.
  ["foo-2.cluster-ro-xyz.rds.us-west-1.amazonaws.com.cn", "cluster-ro", "us-west-1", "aws-cn"],
  ["foo-3.cluster-ro-xyz.us-west-1.rds.amazonaws.com.cn", "cluster-ro", "us-west-1", "aws-cn"],
  ["foo-2.cluster-xyz.rds.us-west-1.amazonaws.com.cn", "cluster", "us-west-1", "aws-cn"],
  ["foo-3.cluster-xyz.us-west-1.rds.amazonaws.com.cn", "cluster", "us-west-1", "aws-cn"],
  // GovCloud.
  [
    "database-test-name.cluster-XYZ.rds.us-gov-east-1.amazonaws.com",
    "cluster",
    "us-gov-east-1",
    "aws-us-gov",
  ],
  // ISO-B (sc2s.sgov.gov).
  [
    "database-test-name.cluster-XYZ.rds.us-isob-east-1.sc2s.sgov.gov",
    "cluster",
    "us-isob-east-1",
    "aws-iso-b",
  ],
  [
    "database-test-name.cluster-ro-XYZ.rds.us-isob-east-1.sc2s.sgov.gov",
    "cluster-ro",
    "us-isob-east-1",
    "aws-iso-b",
  ],
  [
    "instance-test-name.XYZ.rds.us-isob-east-1.sc2s.sgov.gov",
    "instance",
    "us-isob-east-1",
    "aws-iso-b",
  ],
  [
    "proxy-test-name.proxy-XYZ.rds.us-isob-east-1.sc2s.sgov.gov",
    "proxy",
    "us-isob-east-1",
    "aws-iso-b",
  ],
  [
    "custom-test-name.cluster-custom-XYZ.rds.us-isob-east-1.sc2s.sgov.gov",
    "cluster-custom",
    "us-isob-east-1",
    "aws-iso-b",
  ],
  // ISO (c2s.ic.gov).
  [
    "database-test-name.cluster-XYZ.rds.us-iso-east-1.c2s.ic.gov",
    "cluster",
    "us-iso-east-1",
    "aws-iso",
  ],
  [
    "database-test-name.cluster-ro-XYZ.rds.us-iso-east-1.c2s.ic.gov",
    "cluster-ro",
    "us-iso-east-1",
    "aws-iso",
  ],
  ["instance-test-name.XYZ.rds.us-iso-east-1.c2s.ic.gov", "instance", "us-iso-east-1", "aws-iso"],
  ["proxy-test-name.proxy-XYZ.rds.us-iso-east-1.c2s.ic.gov", "proxy", "us-iso-east-1", "aws-iso"],
  [
    "custom-test-name.cluster-custom-XYZ.rds.us-iso-east-1.c2s.ic.gov",
    "cluster-custom",
    "us-iso-east-1",
    "aws-iso",
  ],
  // The global writer name the AWS wrappers' tests use (the NodeJS tests have none).
  ["global-cluster-test-name.global-XYZ.global.rds.amazonaws.com", "global", undefined, "aws"],
  // Their pattern makes the `global-` prefix optional; so does ours.
  ["global-cluster-test-name.XYZ.global.rds.amazonaws.com", "global", undefined, "aws"],
];

const NOT_RDS = [
  "db.example.com",
  "elb-name.elb.us-east-2.amazonaws.com",
  "my-lb-123.us-east-1.elb.amazonaws.com",
  "mybucket.s3.us-east-1.amazonaws.com",
  "10.0.0.1",
  "10.0.0.1.nip.io",
  "::1",
  "localhost",
  "",
  // The wrapper's broken China names. It still calls the last two RDS names (an instance
  // named `database-test-name.cluster-XYZ`, and a GovCloud-style name in cn-northwest-1)
  // and reads their region; no endpoint looks like either, and a token signed for a
  // guessed reading would only fail later with a worse error, so we refuse them here
  // and the user is told to set iamHost / iamRegion.
  "database-test-name.cluster-XYZ.rds.amazonaws.com.cn", // no region
  "database-test-name.cluster-XYZ.rds.cn-northwest-1.rds.amazonaws.com.cn", // extra rds
  "database-test-name.cluster-XYZ.rds.cn-northwest-1.amazonaws.com", // China without .cn
  "cluster-abc123.us-east-1.rds.amazonaws.com", // no name label
  "mydb.cluster-abc123.us-east-1.rds.amazonaws.com.evil.example",
  "mydb.cluster-abc123.us-east-1.rds.amazonaws.com..", // one trailing dot only
  "my.db.cluster-abc123.us-east-1.rds.amazonaws.com", // RDS names have no dots
  "-mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
  "mydb.cluster-abc123.global.rds.amazonaws.com", // `global` is not a region
  "mydb.global-abc123.global.rds.amazonaws.com.cn", // global writers live in aws only
  "mydb.endpoint.cluster-abc123.us-east-1.rds.amazonaws.com", // `endpoint.` is for proxies
  "mydb.cluster-abc123.us-east-1.rds.amazonaws.com:5432",
];

describe("parseRdsHostname", () => {
  it.each(RDS_HOSTS)("%s -> %s in %s", (host, kind, region, partition, fips = false) => {
    const parsed = parseRdsHostname(host);
    expect(parsed).toBeDefined();
    expect(parsed?.kind).toBe(kind);
    expect(parsed?.region).toBe(region);
    expect(parsed?.partition).toBe(partition);
    expect(parsed?.fips).toBe(fips);
    expect(parsed?.hostname).toBe(host.toLowerCase().replace(/\.$/, ""));
  });

  it.each(WRAPPER_HOSTS)(
    "the AWS NodeJS wrapper's %s -> %s in %s",
    (host, kind, region, partition, fips = false) => {
      const parsed = parseRdsHostname(host);
      expect(parsed).toMatchObject({
        hostname: host.toLowerCase(),
        kind,
        region,
        partition,
        fips,
      });
      // Whatever the case and a trailing dot, the same answer.
      expect(parseRdsHostname(`${host.toUpperCase()}.`)).toEqual(parsed);
    },
  );

  it("names the instance, cluster or proxy", () => {
    expect(parseRdsHostname("orders.cluster-ro-abc.us-east-1.rds.amazonaws.com")?.name).toBe(
      "orders",
    );
    expect(parseRdsHostname("ro.endpoint.proxy-abc.us-east-1.rds.amazonaws.com")?.name).toBe("ro");
  });

  it.each(NOT_RDS)("%j is not an RDS endpoint", (host) => {
    expect(parseRdsHostname(host)).toBeUndefined();
  });

  it("answers undefined for non-strings instead of throwing", () => {
    expect(parseRdsHostname(42 as unknown as string)).toBeUndefined();
  });
});

describe("isIpAddress", () => {
  it.each([
    "10.0.0.1",
    "127.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "2001:db8::8a2e:370:7334",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "[::1]",
    "[2001:db8::1]",
    "fe80::1%eth0",
    "[fe80::1%25en0]",
    "::ffff:192.0.2.1",
    "2001:DB8::1",
    "FE80::1%ETH0",
    "2001:db8::192.0.2.1",
    " 10.0.0.1 ",
  ])("%s is an IP address", (host) => {
    expect(isIpAddress(host)).toBe(true);
  });

  it.each([
    "10.0.0.1.nip.io",
    "1.2.3",
    "256.1.1.1",
    "01.2.3.4",
    "mydb.cluster-abc.us-east-1.rds.amazonaws.com",
    "localhost",
    "::g",
    "[::1",
    "",
    "[10.0.0.1]", // brackets are for IPv6
    "10.0.0.1%eth0", // zone ids are for IPv6
    "fe80::1%", // an empty zone id
    "[::1]:5432", // a port is not part of the address
    "10.0.0.1:5432",
    "10.0.0.1.",
    "127.1", // inet_aton shorthand, not an address literal
    "0x7f000001",
    "1::2::3",
    "[]",
  ])("%j is not an IP address", (host) => {
    expect(isIpAddress(host)).toBe(false);
  });
});
