import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ByteReader } from "../src/byte-reader";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("ByteReader", () => {
  it("stops reading its stream once it holds its limit, and reads on when asked", async () => {
    const stream = new PassThrough({ highWaterMark: 1024 });
    const reader = new ByteReader(stream, 4096);
    const chunk = Buffer.alloc(1024, 1);
    // A flood nobody reads: the reader takes its limit, then the stream backs up.
    let accepted = 0;
    for (let i = 0; i < 64 && stream.write(chunk); i++) {
      accepted += chunk.length;
      await tick();
    }
    await tick();
    expect(stream.isPaused()).toBe(true);
    expect(reader.buffered).toBeGreaterThanOrEqual(4096);
    expect(reader.buffered).toBeLessThan(4096 + 2 * chunk.length);
    expect(accepted).toBeLessThan(64 * chunk.length);
    // A read larger than the limit still completes: the reader resumes for it.
    const data = reader.read(8192);
    for (let i = 0; i < 16; i++) {
      stream.write(chunk);
      await tick();
    }
    expect((await data).length).toBe(8192);
    reader.detach();
  });

  it("hands over what it buffered, unread, on detach", async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream);
    stream.write(Buffer.from("abcdef"));
    await tick();
    expect((await reader.read(2)).toString()).toBe("ab");
    expect(reader.detach().toString()).toBe("cdef");
  });
});
