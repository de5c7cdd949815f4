import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock } from "../src/clock";

describe("systemClock", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("reads Date.now on every call (so faked system time moves it)", () => {
    const now = vi.spyOn(Date, "now").mockReturnValue(1_000);
    expect(systemClock()).toBe(1_000);
    now.mockReturnValue(2_500);
    expect(systemClock()).toBe(2_500);
    expect(now).toHaveBeenCalledTimes(2);
  });

  it("is milliseconds since the epoch", () => {
    const before = Date.now();
    const value = systemClock();
    expect(value).toBeGreaterThanOrEqual(before);
    expect(value).toBeLessThanOrEqual(Date.now());
    expect(Number.isInteger(value)).toBe(true);
  });
});
