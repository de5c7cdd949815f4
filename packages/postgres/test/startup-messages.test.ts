import { describe, expect, it } from "vitest";
import { LOGIN_MESSAGE_LIMIT, passwordMessage, splitServerMessages } from "../src/startup-messages";

const TOKEN =
  "mydb.cluster-abc123.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&X-Amz-Signature=" +
  "ab".repeat(300);

/** Allocates from Node's shared Buffer pool until a fresh 8 KiB slab has begun. */
function freshPool(): void {
  while (Buffer.allocUnsafe(16).byteOffset !== 0);
}

describe("passwordMessage", () => {
  it("carries the token NUL-terminated after a type byte and a length", () => {
    const message = passwordMessage(TOKEN);
    expect(message.toString("latin1", 0, 1)).toBe("p");
    expect(message.readUInt32BE(1)).toBe(message.length - 1);
    expect(message.toString("utf8", 5, message.length - 1)).toBe(TOKEN);
    expect(message[message.length - 1]).toBe(0);
  });

  it("once wiped, leaves no copy of the token in Node's shared Buffer pool", () => {
    freshPool();
    const message = passwordMessage(TOKEN);
    message.fill(0);
    // The slab the next small Buffer comes from: where any pooled copy would still be.
    const slab = Buffer.from(Buffer.allocUnsafe(1).buffer);
    expect(slab.includes(TOKEN)).toBe(false);
    expect(Buffer.from(message.buffer).includes(TOKEN)).toBe(false);
  });
});

describe("splitServerMessages", () => {
  it("splits complete messages and keeps an incomplete rest", () => {
    const ok = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
    const { messages, rest } = splitServerMessages(Buffer.concat([ok, ok.subarray(0, 6)]));
    expect(messages.map((m) => m.type)).toEqual(["R"]);
    expect(rest.length).toBe(6);
  });

  it("refuses a length no login message has, before waiting for its bytes", () => {
    const huge = Buffer.from([0x4e, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => splitServerMessages(huge)).toThrow(/login message of 2147483647 bytes/);
    const short = Buffer.from([0x52, 0, 0, 0, 2]);
    expect(() => splitServerMessages(short)).toThrow(/login message of 2 bytes/);
    const atLimit = Buffer.alloc(5);
    atLimit.write("N", 0, "latin1");
    atLimit.writeUInt32BE(LOGIN_MESSAGE_LIMIT, 1);
    expect(splitServerMessages(atLimit).messages).toEqual([]);
  });
});
