/**
 * Tells when a MySQL client is sending a file (`LOAD DATA LOCAL INFILE`) rather than
 * commands. The server asks for the file with a response whose first packet starts
 * with 0xFB; the client then sends data packets, their sequence numbers counting up
 * and wrapping past 255 to 0, until an empty packet. Inside the file a packet with
 * sequence 0 is data, not a command: read as one, file bytes could look like
 * COM_CHANGE_USER or KILL.
 *
 * The server's first packet after a command is the start of its response (the classic
 * protocol is half-duplex), and only the file request starts with 0xFB there: OK is
 * 0x00, ERR 0xFF, EOF 0xFE, and a column count is never the NULL marker 0xFB.
 */
export class MysqlInfileState {
  /** The client sent a command and the server has not answered yet. */
  #awaitingResponse = false;
  /** The server asked for a file and the client has not ended it yet. */
  #sendingFile = false;
  // Server packets are followed across chunks: bytes left in the current one, and a
  // partial header carried over.
  #serverRemaining = 0;
  #serverCarry: Buffer = Buffer.alloc(0);

  /** True while the client's packets are file data. */
  get sendingFile(): boolean {
    return this.#sendingFile;
  }

  /** The client started a packet; `length` is its payload length. */
  clientPacket(sequence: number, length: number): void {
    if (this.#sendingFile) {
      if (length === 0) this.#sendingFile = false;
      return;
    }
    if (sequence === 0) this.#awaitingResponse = true;
  }

  /** Bytes the server sent the client, in order. */
  serverData(chunk: Buffer): void {
    const data = this.#serverCarry.length > 0 ? Buffer.concat([this.#serverCarry, chunk]) : chunk;
    this.#serverCarry = Buffer.alloc(0);
    let at = 0;
    while (at < data.length) {
      if (this.#serverRemaining > 0) {
        const take = Math.min(this.#serverRemaining, data.length - at);
        this.#serverRemaining -= take;
        at += take;
        continue;
      }
      // A header and, for the first packet of a response, its first payload byte.
      const needed = this.#awaitingResponse ? 5 : 4;
      if (data.length - at < needed) {
        this.#serverCarry = Buffer.from(data.subarray(at));
        break;
      }
      const length = data.readUIntLE(at, 3);
      if (this.#awaitingResponse) {
        this.#awaitingResponse = false;
        if (length > 0 && data[at + 4] === 0xfb) this.#sendingFile = true;
      }
      this.#serverRemaining = length;
      at += 4;
    }
  }
}
