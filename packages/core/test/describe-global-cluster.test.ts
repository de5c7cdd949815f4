import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRdsApi } from "../../../tests/support/rds-api";
import { describeWriterRegion, type WriterLookup } from "../src/describe-global-cluster";
import { isRdsIamError } from "../src/errors";
import { STATIC_CREDENTIALS } from "./support";

// The real @aws-sdk/client-rds against a loopback stand-in of the RDS Query API.
const api = await startRdsApi({
  credentials: [STATIC_CREDENTIALS],
  writers: { mydb: "eu-west-1" },
});
const saved = process.env.AWS_ENDPOINT_URL_RDS;
beforeAll(() => {
  process.env.AWS_ENDPOINT_URL_RDS = api.url;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_RDS;
  else process.env.AWS_ENDPOINT_URL_RDS = saved;
  await api.close();
});

function lookup(overrides: Partial<WriterLookup> = {}): WriterLookup {
  return {
    globalClusterIdentifier: "mydb",
    iamHost: "mydb.global-abc123.global.rds.amazonaws.com",
    apiRegion: "us-east-1",
    credentials: STATIC_CREDENTIALS,
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRdsIamError(error)) throw new Error(`expected an RdsIamError, got ${String(error)}`);
  return error;
}

describe("describeWriterRegion", () => {
  it("reads the region of the member that IsWriter, from its DBClusterArn", async () => {
    api.setMode("ok");
    const before = api.calls("mydb");
    expect(await describeWriterRegion(lookup())).toBe("eu-west-1");
    api.setWriter("mydb", "us-west-2");
    expect(await describeWriterRegion(lookup())).toBe("us-west-2");
    expect(api.calls("mydb") - before).toBe(2);
    // Signed (the stand-in verified it) with the token's credentials, in the API region.
    const last = api.requests.at(-1);
    expect(last).toMatchObject({
      action: "DescribeGlobalClusters",
      globalClusterIdentifier: "mydb",
      accessKeyId: STATIC_CREDENTIALS.accessKeyId,
      region: "us-east-1",
    });
  });

  it("refuses credentials the API does not know (the signature is checked)", async () => {
    api.setMode("ok");
    const error = await failure(
      describeWriterRegion(
        lookup({ credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x".repeat(40) } }),
      ),
    );
    expect(error.code).toBe("GLOBAL_WRITER_ACCESS_DENIED");
  });

  it("AccessDenied names the permission and iamRegion", async () => {
    api.setMode("access-denied");
    const error = await failure(describeWriterRegion(lookup()));
    api.setMode("ok");
    expect(error.code).toBe("GLOBAL_WRITER_ACCESS_DENIED");
    expect(error.option).toBe("iamRegion");
    expect(error.message).toContain("rds:DescribeGlobalClusters");
    expect(error.message).toContain("iamRegion");
    expect(error.message).toContain("AccessDenied");
  });

  it("an unknown global cluster is GLOBAL_CLUSTER_NOT_FOUND", async () => {
    api.setMode("ok");
    const error = await failure(describeWriterRegion(lookup({ globalClusterIdentifier: "nope" })));
    expect(error.code).toBe("GLOBAL_CLUSTER_NOT_FOUND");
    expect(error.message).toContain('"nope"');
    expect(error.message).toContain("rds:DescribeGlobalClusters");
    expect(error.message).toContain("iamRegion");
  });

  it("an unreachable API is GLOBAL_WRITER_LOOKUP_FAILED", async () => {
    const closed = await startRdsApi({ credentials: [STATIC_CREDENTIALS] });
    await closed.close();
    process.env.AWS_ENDPOINT_URL_RDS = closed.url;
    try {
      const error = await failure(describeWriterRegion(lookup()));
      expect(error.code).toBe("GLOBAL_WRITER_LOOKUP_FAILED");
      expect(error.message).toContain("ECONNREFUSED");
      expect(error.message).toContain("rds:DescribeGlobalClusters");
      expect(error.message).toContain("iamRegion");
    } finally {
      process.env.AWS_ENDPOINT_URL_RDS = api.url;
    }
  });

  it("stops when its signal is aborted (a silent API)", async () => {
    api.setMode("hang");
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    const error = await describeWriterRegion(lookup({ signal: controller.signal })).then(
      () => undefined,
      (e: unknown) => e,
    );
    api.setMode("ok");
    expect(error).toBeDefined();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
