/** PostgreSQL wire-protocol message builders and parsers the gateway needs (protocol 3.0). */

export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_3 = 196608;

/** A typed backend message: one type byte, an int32 length that counts itself, the body. */
export function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

function cstring(value: string): Buffer {
  return Buffer.from(`${value}\0`, "utf8");
}

/** `AuthenticationRequest` with a code (0 ok, 3 cleartext, ...). */
export function authentication(code: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  return message("R", Buffer.concat([int32(code), extra]));
}

/** A startup message (untyped: int32 length, int32 protocol, key/value pairs). */
export function startupMessage(parameters: ReadonlyMap<string, string>): Buffer {
  const parts: Buffer[] = [int32(PROTOCOL_3)];
  for (const [key, value] of parameters) parts.push(cstring(key), cstring(value));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** Parses the key/value pairs of a startup message body (after the protocol number). */
export function parseStartupParameters(body: Buffer): Map<string, string> {
  const parameters = new Map<string, string>();
  const fields = body.toString("utf8").split("\0");
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const key = fields[i] as string;
    if (key === "") break;
    parameters.set(key, fields[i + 1] as string);
  }
  return parameters;
}

/** An `ErrorResponse` with the fields every client reads. */
export function errorResponse(fields: {
  severity: "FATAL" | "ERROR";
  code: string;
  message: string;
}): Buffer {
  return message(
    "E",
    Buffer.concat([
      cstring(`S${fields.severity}`),
      cstring(`V${fields.severity}`),
      cstring(`C${fields.code}`),
      cstring(`M${fields.message}`),
      Buffer.from([0]),
    ]),
  );
}

/** A frontend `PasswordMessage` / SASL response ('p'). */
export function passwordMessage(body: Buffer): Buffer {
  return message("p", body);
}

/** The body of a `SASLInitialResponse`: mechanism, int32 length, data. */
export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  return Buffer.concat([cstring(mechanism), int32(data.length), data]);
}

/** Reads the `M` (message) and `C` (code) fields of an ErrorResponse body. */
export function parseErrorFields(body: Buffer): { code?: string; message?: string } {
  const out: { code?: string; message?: string } = {};
  for (const field of body.toString("utf8").split("\0")) {
    if (field.startsWith("C")) out.code = field.slice(1);
    else if (field.startsWith("M")) out.message = field.slice(1);
  }
  return out;
}
