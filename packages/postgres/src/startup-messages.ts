/**
 * The few PostgreSQL wire-protocol messages a login reads or writes before the server
 * says `AuthenticationOk` (protocol 3.0, "Message Formats"): everything after that is
 * postgres.js's business and passes through untouched.
 */

import { RdsIamError } from "@rds-iam/core";

/** `SSLRequest`: asks the server to switch to TLS before the startup message. */
export const SSL_REQUEST: Buffer = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** The request code of a `CancelRequest` (sent on a connection of its own, no login). */
const CANCEL_REQUEST_CODE = 80877102;

/** `AuthenticationCleartextPassword`: what RDS asks for an IAM login (the token). */
export const AUTH_CLEARTEXT = 3;
/** `AuthenticationOk`. */
export const AUTH_OK = 0;

/** One server message: its type byte, and the whole message (type byte included). */
export interface ServerMessage {
  readonly type: string;
  readonly bytes: Buffer;
}

/**
 * The largest length field a login message may carry (1 MiB). A login's messages
 * (authentication requests, notices, errors, parameters) are a few hundred bytes;
 * without a bound, a length field of 2 GiB would make the login buffer whatever the
 * server sends until `connect_timeout`.
 */
export const LOGIN_MESSAGE_LIMIT = 1024 * 1024;

/**
 * Splits off the complete server messages at the start of `buffer` (type byte, then a
 * length that counts itself); returns them and the incomplete rest.
 *
 * @throws RdsIamError `AUTH_REJECTED` for a length below 4 or above
 * {@link LOGIN_MESSAGE_LIMIT}, as soon as the length field arrives.
 */
export function splitServerMessages(buffer: Buffer): { messages: ServerMessage[]; rest: Buffer } {
  const messages: ServerMessage[] = [];
  let offset = 0;
  while (buffer.length - offset >= 5) {
    const length = buffer.readUInt32BE(offset + 1);
    if (length < 4 || length > LOGIN_MESSAGE_LIMIT) {
      throw new RdsIamError(
        "AUTH_REJECTED",
        `The server sent a login message of ${length} bytes (PostgreSQL's are 4 bytes to 1 MiB during a login), so the login was abandoned. Check that host and port name an RDS PostgreSQL endpoint.`,
        { option: "host" },
      );
    }
    if (buffer.length - offset < length + 1) break;
    messages.push({
      type: String.fromCharCode(buffer[offset] as number),
      bytes: buffer.subarray(offset, offset + length + 1),
    });
    offset += length + 1;
  }
  return { messages, rest: buffer.subarray(offset) };
}

/** The authentication request an `R` message carries (0 = ok, 3 = cleartext, ...). */
export function authenticationType(message: ServerMessage): number {
  return message.bytes.length >= 9 ? message.bytes.readUInt32BE(5) : -1;
}

/**
 * The length of the first client message (startup and cancel requests carry no type
 * byte), or `undefined` while fewer than four bytes have arrived.
 */
export function untypedMessageLength(buffer: Buffer): number | undefined {
  return buffer.length >= 4 ? buffer.readUInt32BE(0) : undefined;
}

/** True for a `CancelRequest`: sent on a connection of its own that never logs in. */
export function isCancelRequest(message: Buffer): boolean {
  return message.length === 16 && message.readUInt32BE(4) === CANCEL_REQUEST_CODE;
}

/**
 * `PasswordMessage` carrying `password` (NUL-terminated, as the protocol wants). The
 * only copy of the password in a Buffer: one of its own (`Buffer.alloc`, not a slice of
 * Node's shared pool, which outlives the message) with the password written straight
 * into it, so that filling it with zeros wipes it.
 */
export function passwordMessage(password: string): Buffer {
  const length = Buffer.byteLength(password, "utf8");
  const message = Buffer.alloc(6 + length);
  message.write("p", 0, "latin1");
  message.writeUInt32BE(5 + length, 1);
  message.write(password, 5, "utf8");
  return message;
}

/** The fields of an `ErrorResponse` that decide what a failed login means. */
export interface ServerError {
  /** SQLSTATE (`28P01`, `28000`, `3D000`, ...). */
  readonly code: string;
  readonly severity: string;
  readonly message: string;
}

/** Reads an `ErrorResponse`'s fields (one type byte and a NUL-terminated string each). */
export function parseServerError(message: ServerMessage): ServerError {
  const fields = new Map<string, string>();
  let offset = 5;
  const bytes = message.bytes;
  while (offset < bytes.length && bytes[offset] !== 0) {
    const field = String.fromCharCode(bytes[offset] as number);
    const end = bytes.indexOf(0, offset + 1);
    if (end < 0) break;
    fields.set(field, bytes.toString("utf8", offset + 1, end));
    offset = end + 1;
  }
  return {
    code: fields.get("C") ?? "",
    severity: fields.get("S") ?? "",
    message: fields.get("M") ?? "",
  };
}
