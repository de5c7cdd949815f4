/** MySQL / MariaDB client-server protocol pieces the gateway needs. */

export const CLIENT_LONG_PASSWORD = 1; // MariaDB: CLIENT_MYSQL
export const CLIENT_CONNECT_WITH_DB = 8;
export const CLIENT_COMPRESS = 32;
export const CLIENT_PROTOCOL_41 = 512;
export const CLIENT_SSL = 2048;
export const CLIENT_SECURE_CONNECTION = 32768;
export const CLIENT_PLUGIN_AUTH = 1 << 19;
export const CLIENT_CONNECT_ATTRS = 1 << 20;
export const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21;
export const CLIENT_ZSTD_COMPRESSION = 1 << 26;

export const COM_QUERY = 0x03;
export const COM_PROCESS_KILL = 0x0c;
export const COM_CHANGE_USER = 0x11;

/** One packet: 3-byte length, sequence id, payload. */
export function packet(sequence: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = sequence & 0xff;
  return Buffer.concat([header, payload]);
}

/** An ERR packet payload. */
export function errPayload(code: number, sqlState: string, message: string): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0xff;
  head.writeUInt16LE(code, 1);
  return Buffer.concat([head, Buffer.from(`#${sqlState}${message}`, "utf8")]);
}

/** An AuthSwitchRequest asking the client for `plugin`, with `data`. */
export function authSwitchPayload(plugin: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${plugin}\0`), data]);
}

/** The server greeting (HandshakeV10) fields the gateway reuses or replaces. */
export interface Greeting {
  readonly serverVersion: Buffer;
  readonly connectionId: number;
  readonly capabilities: number;
  readonly charset: number;
  readonly status: number;
  /** MariaDB's extended capabilities (0 from MySQL). */
  readonly extendedCapabilities: number;
  /** The 20-byte scramble. */
  readonly scramble: Buffer;
  readonly authPlugin: string;
}

export function parseGreeting(payload: Buffer): Greeting {
  if (payload[0] === 0xff) {
    throw new Error(`backend refused the connection: ${payload.subarray(3).toString("utf8")}`);
  }
  if (payload[0] !== 10) throw new Error(`unsupported protocol version ${payload[0]}`);
  const versionEnd = payload.indexOf(0, 1);
  let at = versionEnd + 1;
  const connectionId = payload.readUInt32LE(at);
  at += 4;
  const part1 = payload.subarray(at, at + 8);
  at += 9;
  const capsLow = payload.readUInt16LE(at);
  at += 2;
  const charset = payload[at] as number;
  at += 1;
  const status = payload.readUInt16LE(at);
  at += 2;
  const capsHigh = payload.readUInt16LE(at);
  at += 2;
  const dataLength = payload[at] as number;
  at += 1 + 6;
  const extendedCapabilities = payload.readUInt32LE(at);
  at += 4;
  const part2Length = Math.max(13, dataLength - 8);
  const part2 = payload.subarray(at, at + part2Length - 1);
  at += part2Length;
  const pluginEnd = payload.indexOf(0, at);
  const authPlugin = payload.subarray(at, pluginEnd === -1 ? payload.length : pluginEnd).toString();
  return {
    serverVersion: payload.subarray(1, versionEnd),
    connectionId,
    capabilities: (capsLow | (capsHigh << 16)) >>> 0,
    charset,
    status,
    extendedCapabilities,
    scramble: Buffer.concat([part1, part2]),
    authPlugin: authPlugin || "mysql_native_password",
  };
}

export function greetingPayload(greeting: Greeting): Buffer {
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 6 + 4);
  let at = 0;
  fixed.writeUInt32LE(greeting.connectionId, at);
  at += 4;
  greeting.scramble.copy(fixed, at, 0, 8);
  at += 9;
  fixed.writeUInt16LE(greeting.capabilities & 0xffff, at);
  at += 2;
  fixed[at] = greeting.charset;
  at += 1;
  fixed.writeUInt16LE(greeting.status, at);
  at += 2;
  fixed.writeUInt16LE(greeting.capabilities >>> 16, at);
  at += 2;
  fixed[at] = greeting.scramble.length + 1;
  at += 1 + 6;
  fixed.writeUInt32LE(greeting.extendedCapabilities >>> 0, at);
  return Buffer.concat([
    Buffer.from([10]),
    greeting.serverVersion,
    Buffer.from([0]),
    fixed,
    greeting.scramble.subarray(8),
    Buffer.from([0]),
    Buffer.from(`${greeting.authPlugin}\0`),
  ]);
}

/** A client's HandshakeResponse41. */
export interface HandshakeResponse {
  readonly capabilities: number;
  readonly maxPacketSize: number;
  readonly charset: number;
  readonly extendedCapabilities: number;
  readonly user: string;
  readonly authResponse: Buffer;
  readonly database: string | undefined;
  readonly authPlugin: string | undefined;
  readonly attributes: Buffer | undefined;
}

/** True for the 32-byte SSLRequest a client sends before its TLS handshake. */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === 32 && (payload.readUInt32LE(0) & CLIENT_SSL) !== 0;
}

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const capabilities = payload.readUInt32LE(0);
  if ((capabilities & CLIENT_PROTOCOL_41) === 0)
    throw new Error("client does not speak protocol 4.1");
  const maxPacketSize = payload.readUInt32LE(4);
  const charset = payload[8] as number;
  const extendedCapabilities = payload.readUInt32LE(28);
  let at = 32;
  const userEnd = payload.indexOf(0, at);
  if (userEnd === -1) throw new Error("malformed handshake response");
  const user = payload.subarray(at, userEnd).toString("utf8");
  at = userEnd + 1;
  let authResponse: Buffer;
  if (capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    const [length, size] = readLengthEncoded(payload, at);
    authResponse = payload.subarray(at + size, at + size + length);
    at += size + length;
  } else if (capabilities & CLIENT_SECURE_CONNECTION) {
    const length = payload[at] ?? 0;
    authResponse = payload.subarray(at + 1, at + 1 + length);
    at += 1 + length;
  } else {
    const end = payload.indexOf(0, at);
    authResponse = payload.subarray(at, end);
    at = end + 1;
  }
  let database: string | undefined;
  if (capabilities & CLIENT_CONNECT_WITH_DB && at < payload.length) {
    const end = payload.indexOf(0, at);
    database = payload.subarray(at, end === -1 ? payload.length : end).toString("utf8");
    at = end === -1 ? payload.length : end + 1;
  }
  let authPlugin: string | undefined;
  if (capabilities & CLIENT_PLUGIN_AUTH && at < payload.length) {
    const end = payload.indexOf(0, at);
    authPlugin = payload.subarray(at, end === -1 ? payload.length : end).toString("utf8");
    at = end === -1 ? payload.length : end + 1;
  }
  let attributes: Buffer | undefined;
  if (capabilities & CLIENT_CONNECT_ATTRS && at < payload.length) {
    const [length, size] = readLengthEncoded(payload, at);
    attributes = payload.subarray(at, at + size + length);
  }
  return {
    capabilities,
    maxPacketSize,
    charset,
    extendedCapabilities,
    user,
    authResponse,
    database,
    authPlugin,
    attributes,
  };
}

export function handshakeResponsePayload(response: HandshakeResponse): Buffer {
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(response.capabilities >>> 0, 0);
  fixed.writeUInt32LE(response.maxPacketSize >>> 0, 4);
  fixed[8] = response.charset;
  fixed.writeUInt32LE(response.extendedCapabilities >>> 0, 28);
  const parts: Buffer[] = [fixed, Buffer.from(`${response.user}\0`, "utf8")];
  if (response.capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    parts.push(lengthEncoded(response.authResponse.length), response.authResponse);
  } else {
    parts.push(Buffer.from([response.authResponse.length]), response.authResponse);
  }
  if (response.capabilities & CLIENT_CONNECT_WITH_DB) {
    parts.push(Buffer.from(`${response.database ?? ""}\0`, "utf8"));
  }
  if (response.capabilities & CLIENT_PLUGIN_AUTH) {
    parts.push(Buffer.from(`${response.authPlugin ?? ""}\0`));
  }
  if (response.capabilities & CLIENT_CONNECT_ATTRS) {
    parts.push(response.attributes ?? Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

function readLengthEncoded(buffer: Buffer, at: number): [number, number] {
  const first = buffer[at] ?? 0;
  if (first < 0xfb) return [first, 1];
  if (first === 0xfc) return [buffer.readUInt16LE(at + 1), 3];
  if (first === 0xfd) return [buffer.readUIntLE(at + 1, 3), 4];
  return [Number(buffer.readBigUInt64LE(at + 1)), 9];
}

function lengthEncoded(value: number): Buffer {
  if (value < 0xfb) return Buffer.from([value]);
  const buffer = Buffer.alloc(3);
  buffer[0] = 0xfc;
  buffer.writeUInt16LE(value, 1);
  return buffer;
}
