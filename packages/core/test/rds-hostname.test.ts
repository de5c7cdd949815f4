import { describe, expect, it } from "vitest";
import { isIpAddress, parseRdsHostname, type RdsEndpointKind } from "../src/index";

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
  // Case and trailing dot.
  ["MyDB.Cluster-ABC123.US-EAST-1.RDS.AMAZONAWS.COM", "cluster", "us-east-1", "aws"],
  ["mydb.cluster-abc123.us-east-1.rds.amazonaws.com.", "cluster", "us-east-1", "aws"],
  // The AWS wrappers' own sample names.
  ["database-test-name.cluster-XYZ.us-east-2.rds.amazonaws.com", "cluster", "us-east-2", "aws"],
  [
    "custom-test-name.cluster-custom-XYZ.rds.cn-northwest-1.amazonaws.com.cn",
    "cluster-custom",
    "cn-northwest-1",
    "aws-cn",
  ],
  [
    "proxy-test-name.proxy-XYZ.rds.us-isob-east-1.sc2s.sgov.gov",
    "proxy",
    "us-isob-east-1",
    "aws-iso-b",
  ],
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
  "database-test-name.cluster-XYZ.rds.amazonaws.com.cn", // no region
  "database-test-name.cluster-XYZ.rds.cn-northwest-1.rds.amazonaws.com.cn", // extra rds
  "database-test-name.cluster-XYZ.rds.cn-northwest-1.amazonaws.com", // China without .cn
  "cluster-abc123.us-east-1.rds.amazonaws.com", // no name label
  "mydb.cluster-abc123.us-east-1.rds.amazonaws.com.evil.example",
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
  ])("%j is not an IP address", (host) => {
    expect(isIpAddress(host)).toBe(false);
  });
});
