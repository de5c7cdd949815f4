/**
 * A client announced a message longer than any login needs. Thrown from the length in
 * the message's header, before its body is read, so that what a hostile client claims
 * (a 16 MiB MySQL packet, a 1 GiB PostgreSQL message) is never buffered.
 */
export class OversizedMessageError extends Error {
  /**
   * @param what - the message, e.g. `a startup message`
   * @param size - the length the client announced
   * @param limit - the most the gateway reads before a verified login
   */
  constructor(
    what: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${what} of ${size} bytes before login (at most ${limit} are read)`);
    this.name = "OversizedMessageError";
  }
}

/** Throws {@link OversizedMessageError} if `size` exceeds `limit`. */
export function checkMessageSize(what: string, size: number, limit: number): void {
  if (size > limit) throw new OversizedMessageError(what, size, limit);
}
