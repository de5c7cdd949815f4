import { describe, expect, it } from "vitest";
import { refusePacketDebug } from "../src/debug-output";

const refusal = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return error as Error & { code: string; option: string };
  }
  throw new Error("expected a refusal");
};

describe("refusePacketDebug", () => {
  it.each([true, ["ComQuery"], "ComQuery", 1])("mysql2: refuses debug %j", (debug) => {
    const error = refusal(() => refusePacketDebug({ debug }, "mysql2", undefined));
    expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: "debug" });
    expect(error.message).toContain("debug makes the driver print its packets");
    expect(error.message).toContain("iamAllowTokenInDebugOutput: true");
  });

  it.each([false, undefined, null])("mysql2: lets debug %j pass", (debug) => {
    expect(() => refusePacketDebug({ debug }, "mysql2", undefined)).not.toThrow();
  });

  it("mysql2: the mariadb connector's switches are not mysql2's", () => {
    expect(() =>
      refusePacketDebug(
        { logPackets: true, debugCompress: true, logger: () => {} },
        "mysql2",
        undefined,
      ),
    ).not.toThrow();
  });

  it.each([
    [{ debug: true }, "debug"],
    [{ debugCompress: true }, "debugCompress"],
    [{ logPackets: true }, "logPackets"],
    [{ logger: { network: () => {} } }, "logger.network"],
    [{ logger: () => {} }, "logger"],
  ])("mariadb: refuses %o naming %s", (input, option) => {
    expect(() => refusePacketDebug(input, "mariadb", false)).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option }),
    );
  });

  it("mariadb: a logger object without network logging passes", () => {
    expect(() =>
      refusePacketDebug(
        { logger: { query: () => {}, error: () => {}, network: false } },
        "mariadb",
        undefined,
      ),
    ).not.toThrow();
    expect(() => refusePacketDebug({ logger: null }, "mariadb", undefined)).not.toThrow();
  });

  it("names the option with the caller's prefix, hint included", () => {
    const error = refusal(() =>
      refusePacketDebug({ logger: () => {} }, "mariadb", undefined, "extra."),
    );
    expect(error.option).toBe("extra.logger");
    expect(error.message).toContain("Remove extra.logger");
    expect(error.message).toContain("extra.logger: { query, error, warning }");
    expect(
      refusal(() => refusePacketDebug({ debug: true }, "mysql2", false, "extra.")),
    ).toMatchObject({ option: "extra.debug" });
  });

  it("allows everything with iamAllowTokenInDebugOutput: true", () => {
    expect(() =>
      refusePacketDebug({ debug: true, logPackets: true, logger: () => {} }, "mariadb", true),
    ).not.toThrow();
  });

  it.each(["yes", 1, null])(
    "refuses iamAllowTokenInDebugOutput %j, even without input",
    (allowed) => {
      for (const input of [undefined, { debug: true }]) {
        expect(() => refusePacketDebug(input, "mysql2", allowed)).toThrow(
          expect.objectContaining({ code: "INVALID_OPTION", option: "iamAllowTokenInDebugOutput" }),
        );
      }
    },
  );

  it("passes when there are no driver options", () => {
    expect(() => refusePacketDebug(undefined, "mariadb", undefined)).not.toThrow();
  });
});
