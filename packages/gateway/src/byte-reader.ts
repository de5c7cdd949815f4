import type { Duplex } from "node:stream";

/**
 * Reads exact byte counts from a stream during a handshake. It can be detached (to
 * upgrade the socket to TLS, or to hand it to a relay) and returns whatever it had
 * buffered but not yet consumed, so no byte is lost at a hand-over.
 */
export class ByteReader {
  #stream: Duplex | undefined;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #waiting:
    | { size: number; resolve: (data: Buffer) => void; reject: (e: Error) => void }
    | undefined;
  #ended: Error | undefined;

  readonly #onData = (chunk: Buffer) => {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#settle();
  };
  readonly #onEnd = () => this.#fail(new Error("connection closed during handshake"));
  readonly #onError = (error: Error) => this.#fail(error);

  constructor(stream: Duplex) {
    this.attach(stream);
  }

  /** Starts reading from `stream` (after a TLS upgrade, the TLS socket). */
  attach(stream: Duplex): void {
    this.#stream = stream;
    this.#ended = undefined;
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onError);
    stream.resume();
  }

  /** Stops reading and returns the bytes received but not consumed. */
  detach(): Buffer {
    const stream = this.#stream;
    if (stream) {
      stream.off("data", this.#onData);
      stream.off("end", this.#onEnd);
      stream.off("close", this.#onEnd);
      stream.off("error", this.#onError);
      stream.pause();
    }
    this.#stream = undefined;
    const rest = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#buffered = 0;
    return rest;
  }

  /** Bytes already received and not yet read. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Resolves with exactly `size` bytes. */
  read(size: number): Promise<Buffer> {
    if (this.#waiting) return Promise.reject(new Error("concurrent read"));
    return new Promise((resolve, reject) => {
      this.#waiting = { size, resolve, reject };
      this.#settle();
    });
  }

  #settle(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    if (this.#buffered >= waiting.size) {
      this.#waiting = undefined;
      const all =
        this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
      const data = all.subarray(0, waiting.size);
      const rest = all.subarray(waiting.size);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      waiting.resolve(data);
    } else if (this.#ended) {
      this.#waiting = undefined;
      waiting.reject(this.#ended);
    }
  }

  #fail(error: Error): void {
    this.#ended ??= error;
    this.#settle();
  }
}
