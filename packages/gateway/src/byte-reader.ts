import type { Duplex } from "node:stream";

/**
 * What a reader holds before it stops reading its stream, unless a pending read needs
 * more. A handshake needs a few KB at a time; without a bound, a client that floods
 * bytes while the gateway waits (for its own delay, the backend, ...) would be
 * buffered whole.
 */
export const DEFAULT_BUFFER_LIMIT = 128 * 1024;

/**
 * Reads exact byte counts from a stream during a handshake. It can be detached (to
 * upgrade the socket to TLS, or to hand it to a relay) and returns whatever it had
 * buffered but not yet consumed, so no byte is lost at a hand-over. It pauses the
 * stream while it holds `bufferLimit` bytes (or what the pending read needs, if more),
 * so TCP flow control, not the gateway's memory, absorbs a flood.
 */
export class ByteReader {
  #stream: Duplex | undefined;
  readonly #bufferLimit: number;
  /** True while this reader, not a hand-over, has paused the stream. */
  #throttled = false;
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
    this.#throttle();
  };
  readonly #onEnd = () => this.#fail(new Error("connection closed during handshake"));
  readonly #onError = (error: Error) => this.#fail(error);

  constructor(stream: Duplex, bufferLimit = DEFAULT_BUFFER_LIMIT) {
    this.#bufferLimit = bufferLimit;
    this.attach(stream);
  }

  /** Starts reading from `stream` (after a TLS upgrade, the TLS socket). */
  attach(stream: Duplex): void {
    this.#stream = stream;
    this.#ended = undefined;
    this.#throttled = false;
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
    this.#throttled = false;
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
      this.#throttle();
    });
  }

  // Pauses the stream while enough is buffered, resumes it once a read needs more.
  #throttle(): void {
    const stream = this.#stream;
    if (!stream) return;
    const wanted = Math.max(this.#bufferLimit, this.#waiting?.size ?? 0);
    if (this.#buffered >= wanted) {
      if (!this.#throttled) {
        this.#throttled = true;
        stream.pause();
      }
    } else if (this.#throttled) {
      this.#throttled = false;
      stream.resume();
    }
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
