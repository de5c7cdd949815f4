import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { type CachedToken, TokenCache } from "../src/token-cache";

/** A stand-in token: the cache only stores strings, it never reads them. */
const entry = (name: string, expiresAt = 10_000): CachedToken => ({
  token: `stand-in-token-${name}`,
  mintedAt: 0,
  expiresAt,
  refreshAt: expiresAt - 1_000,
});

describe("TokenCache options", () => {
  it("keeps 1000 entries by default", () => {
    expect(new TokenCache().maxEntries).toBe(1000);
    expect(new TokenCache({}).maxEntries).toBe(1000);
    expect(new TokenCache({ maxEntries: undefined } as never).maxEntries).toBe(1000);
  });

  it("takes 1 to 1000000", () => {
    expect(new TokenCache({ maxEntries: 1 }).maxEntries).toBe(1);
    expect(new TokenCache({ maxEntries: 1_000_000 }).maxEntries).toBe(1_000_000);
  });

  it.each([0, -1, 1.5, 1_000_001, Number.NaN, Number.POSITIVE_INFINITY, "10", true])(
    "refuses maxEntries %j, naming maxEntries and the value",
    (maxEntries) => {
      expect(() => new TokenCache({ maxEntries } as never)).toThrow(
        expect.objectContaining({
          code: "INVALID_OPTION",
          option: "maxEntries",
          message: expect.stringContaining("maxEntries must be a whole number from 1 to 1000000"),
        }),
      );
    },
  );

  it("names the value it got", () => {
    expect(() => new TokenCache({ maxEntries: "10" } as never)).toThrow(/got "10"/);
  });

  it.each([null, 5, "big"])("refuses %j as the options", (options) => {
    expect(() => new TokenCache(options as never)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "options" }),
    );
  });

  it("refuses options it cannot read with a typed error", () => {
    const options = {
      get maxEntries(): number {
        throw new Error("boom");
      },
    };
    expect(() => new TokenCache(options)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "TokenCache options" }),
    );
  });
});

describe("TokenCache", () => {
  it("stores and returns entries by key", () => {
    const cache = new TokenCache();
    const a = entry("a");
    cache.set("a", a);
    expect(cache.get("a")).toBe(a);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("replaces the entry of a key without growing", () => {
    const cache = new TokenCache({ maxEntries: 2 });
    cache.set("a", entry("a1"));
    cache.set("a", entry("a2"));
    expect(cache.size).toBe(1);
    expect(cache.get("a")?.token).toBe("stand-in-token-a2");
  });

  it("returns an expired entry too: callers check expiresAt", () => {
    const cache = new TokenCache();
    cache.set("old", entry("old", 1));
    expect(cache.get("old")?.expiresAt).toBe(1);
  });

  it("evicts the least recently used entry beyond maxEntries", () => {
    const cache = new TokenCache({ maxEntries: 2 });
    cache.set("a", entry("a"));
    cache.set("b", entry("b"));
    cache.get("a"); // a is now the most recently used
    cache.set("c", entry("c"));
    expect(cache.size).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
  });

  it("counts a set of an existing key as a use", () => {
    const cache = new TokenCache({ maxEntries: 2 });
    cache.set("a", entry("a"));
    cache.set("b", entry("b"));
    cache.set("a", entry("a2"));
    cache.set("c", entry("c"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.token).toBe("stand-in-token-a2");
  });

  it("deletes a key, or only while it still holds the given token", () => {
    const cache = new TokenCache();
    cache.set("a", entry("a"));
    expect(cache.delete("a", "stand-in-token-other")).toBe(false);
    expect(cache.get("a")).toBeDefined();
    expect(cache.delete("a", "stand-in-token-a")).toBe(true);
    expect(cache.get("a")).toBeUndefined();
    cache.set("b", entry("b"));
    expect(cache.delete("b")).toBe(true);
    expect(cache.delete("b")).toBe(false);
    expect(cache.delete("missing")).toBe(false);
  });

  it("prunes the entries expired by now (at expiresAt included), and keeps the rest", () => {
    const cache = new TokenCache();
    cache.set("gone", entry("gone", 100));
    cache.set("edge", entry("edge", 200));
    cache.set("live", entry("live", 201));
    cache.prune(200);
    expect(cache.size).toBe(1);
    expect(cache.get("live")).toBeDefined();
  });

  it("clears everything", () => {
    const cache = new TokenCache();
    cache.set("a", entry("a"));
    cache.set("b", entry("b"));
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get("a")).toBeUndefined();
  });

  it("shows only its size and capacity, never a token", () => {
    const cache = new TokenCache({ maxEntries: 5 });
    cache.set("key", entry("secret-looking"));
    expect(JSON.stringify(cache)).toBe('{"size":1,"maxEntries":5}');
    expect(inspect(cache)).toBe("TokenCache { size: 1, maxEntries: 5 }");
    const deep = inspect({ cache }, { showHidden: true, depth: 10 });
    expect(deep).not.toContain("stand-in-token");
    expect(String(Object.keys(cache))).not.toContain("stand-in-token");
  });
});
