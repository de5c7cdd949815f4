import { afterEach, describe, expect, it, vi } from "vitest";
import { withTimeout } from "../src/with-timeout";

const timeoutError = () => new Error("timed out");

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("withTimeout", () => {
  it("settles with the work's value when it is in time", async () => {
    const onTimeout = vi.fn(timeoutError);
    await expect(withTimeout(Promise.resolve(7), 1_000, onTimeout)).resolves.toBe(7);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("rejects with the work's own error when it fails in time", async () => {
    const failure = new Error("credential endpoint unavailable");
    const onTimeout = vi.fn(timeoutError);
    await expect(withTimeout(Promise.reject(failure), 1_000, onTimeout)).rejects.toBe(failure);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("rejects with onTimeout()'s error once ms pass, and not before", async () => {
    vi.useFakeTimers();
    const never = new Promise<never>(() => {});
    const wanted = new Error("TIMEOUT");
    const result = withTimeout(never, 500, () => wanted);
    let settled = false;
    result.catch(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).rejects.toBe(wanted);
  });

  it("clears its timer as soon as the work settles", async () => {
    vi.useFakeTimers();
    let finish: (value: string) => void = () => {};
    const work = new Promise<string>((resolve) => {
      finish = resolve;
    });
    const result = withTimeout(work, 60_000, timeoutError);
    expect(vi.getTimerCount()).toBe(1);
    finish("done");
    await expect(result).resolves.toBe("done");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("takes a late rejection of the work: no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      let fail: (error: Error) => void = () => {};
      const work = new Promise<never>((_resolve, reject) => {
        fail = reject;
      });
      await expect(withTimeout(work, 5, timeoutError)).rejects.toThrow("timed out");
      fail(new Error("late failure"));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", listener);
    }
  });

  it("keeps the process alive by default, and unrefs its timer only when asked", async () => {
    const spy = vi.spyOn(globalThis, "setTimeout");
    const ref = withTimeout(new Promise<never>(() => {}), 10, timeoutError);
    const unref = withTimeout(new Promise<never>(() => {}), 10, timeoutError, { unref: true });
    const [first, second] = spy.mock.results.map((result) => result.value as NodeJS.Timeout);
    expect(first?.hasRef()).toBe(true);
    expect(second?.hasRef()).toBe(false);
    await expect(ref).rejects.toThrow("timed out");
    await expect(unref).rejects.toThrow("timed out");
  });
});
