import { describe, expect, it } from "vitest";
import { MysqlInfileState } from "../src/mysql-infile";

const serverPacket = (sequence: number, payload: number[]) =>
  Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, 0, sequence, ...payload]);

describe("MysqlInfileState", () => {
  it("is in a file only between the server's 0xFB request and the client's empty packet", () => {
    const state = new MysqlInfileState();
    state.clientPacket(0, 40); // COM_QUERY LOAD DATA LOCAL INFILE ...
    // The request arrives split across chunks.
    const request = serverPacket(1, [0xfb, ...Buffer.from("rows.csv")]);
    state.serverData(request.subarray(0, 3));
    expect(state.sendingFile).toBe(false);
    state.serverData(request.subarray(3));
    expect(state.sendingFile).toBe(true);
    for (let sequence = 2; sequence < 300; sequence++) state.clientPacket(sequence % 256, 9);
    expect(state.sendingFile).toBe(true);
    state.clientPacket(300 % 256, 0); // the empty packet ends the file
    expect(state.sendingFile).toBe(false);
  });

  it("a row or a reply starting with 0xFB later in a response is not a file request", () => {
    const state = new MysqlInfileState();
    state.clientPacket(0, 20); // COM_QUERY select
    state.serverData(
      Buffer.concat([
        serverPacket(1, [0x01]), // column count
        serverPacket(2, [0x03, 0x64, 0x65, 0x66]), // column definition (shortened)
        serverPacket(3, [0xfb]), // a row whose first column is NULL
      ]),
    );
    expect(state.sendingFile).toBe(false);
    // Without a command first, a 0xFB packet from the server means nothing either.
    state.serverData(serverPacket(1, [0xfb]));
    expect(state.sendingFile).toBe(false);
  });
});
