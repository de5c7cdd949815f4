import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";
import { ByteReader } from "./byte-reader";
import {
  CLIENT_COMPRESS,
  CLIENT_PLUGIN_AUTH,
  CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION,
  type Greeting,
  type HandshakeResponse,
  handshakeResponsePayload,
  packet,
  parseGreeting,
} from "./mysql-packets";

/** A MySQL packet as read: sequence id and payload. */
export interface MysqlPacket {
  readonly sequence: number;
  readonly payload: Buffer;
}

/** Reads one packet (from the backend, which is trusted with its lengths). */
export async function readPacket(reader: ByteReader): Promise<MysqlPacket> {
  const header = await reader.read(4);
  const length = header.readUIntLE(0, 3);
  return { sequence: header[3] as number, payload: await reader.read(length) };
}

/** The backend refused the login; `payload` is its ERR packet, to relay to the client. */
export class MysqlBackendError extends Error {
  constructor(
    message: string,
    readonly payload?: Buffer,
  ) {
    super(message);
    this.name = "MysqlBackendError";
  }
}

/** A backend connection that has sent its greeting, ready for a login. */
export interface MysqlBackend {
  readonly socket: Socket;
  readonly reader: ByteReader;
  readonly greeting: Greeting;
}

/**
 * Connects to the real database and reads its greeting, within `timeoutMs` (a backend
 * that accepts and never greets must not hold a login forever).
 */
export async function openMysqlBackend(
  backend: { readonly host: string; readonly port: number },
  timeoutMs: number,
): Promise<MysqlBackend> {
  const s = connect({ host: backend.host, port: backend.port });
  s.setNoDelay(true);
  s.setTimeout(timeoutMs, () => {
    s.destroy(new Error(`the database sent no greeting within ${timeoutMs} ms`));
  });
  const socket = await new Promise<Socket>((resolve, reject) => {
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
  const reader = new ByteReader(socket);
  try {
    const { payload } = await readPacket(reader);
    socket.setTimeout(0);
    return { socket, reader, greeting: parseGreeting(payload) };
  } catch (error) {
    reader.detach();
    socket.destroy();
    throw error;
  }
}

/**
 * Logs in to the backend as the client's user with the client's own flags (less TLS
 * and compression, which stop at the gateway), database and attributes. Resolves with
 * the backend's OK packet payload and whatever the backend sent after it.
 */
export async function mysqlBackendLogin(
  backend: MysqlBackend,
  client: HandshakeResponse,
  password: string | undefined,
): Promise<{ ok: Buffer; pending: Buffer }> {
  const { socket, reader, greeting } = backend;
  const capabilities =
    (client.capabilities &
      ~(CLIENT_SSL | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION) &
      greeting.capabilities) |
    CLIENT_PLUGIN_AUTH;
  const secret = password ?? "";
  socket.write(
    packet(
      1,
      handshakeResponsePayload({
        ...client,
        capabilities,
        extendedCapabilities: client.extendedCapabilities & greeting.extendedCapabilities,
        authResponse: authResponse(greeting.authPlugin, secret, greeting.scramble),
        authPlugin: greeting.authPlugin,
      }),
    ),
  );
  for (;;) {
    const { sequence, payload } = await readPacket(reader);
    const kind = payload[0];
    if (kind === 0x00) return { ok: payload, pending: reader.detach() };
    if (kind === 0xff) {
      throw new MysqlBackendError(payload.subarray(9).toString("utf8"), payload);
    }
    if (kind === 0xfe) {
      const nameEnd = payload.indexOf(0, 1);
      const plugin = payload.subarray(1, nameEnd).toString();
      const data = payload.subarray(nameEnd + 1);
      const scramble = data.at(-1) === 0 ? data.subarray(0, -1) : data;
      socket.write(packet(sequence + 1, authResponse(plugin, secret, scramble)));
    } else if (kind === 0x01 && payload[1] === 3) {
      // caching_sha2_password fast-auth success; the OK follows.
    } else {
      throw new MysqlBackendError(
        `backend asks for an authentication step the gateway does not support (${greeting.authPlugin})`,
      );
    }
  }
}

function authResponse(plugin: string, password: string, scramble: Buffer): Buffer {
  if (password === "") return Buffer.alloc(0);
  if (plugin === "mysql_native_password") {
    const stage1 = sha1(Buffer.from(password, "utf8"));
    const stage2 = sha1(Buffer.concat([scramble.subarray(0, 20), sha1(stage1)]));
    return Buffer.from(stage1.map((byte, i) => byte ^ (stage2[i] as number)));
  }
  if (plugin === "caching_sha2_password") {
    const stage1 = sha256(Buffer.from(password, "utf8"));
    const stage2 = sha256(Buffer.concat([sha256(stage1), scramble.subarray(0, 20)]));
    return Buffer.from(stage1.map((byte, i) => byte ^ (stage2[i] as number)));
  }
  if (plugin === "mysql_clear_password") return Buffer.from(`${password}\0`, "utf8");
  throw new MysqlBackendError(`backend authentication plugin ${plugin} is not supported`);
}

function sha1(data: Buffer): Buffer {
  return createHash("sha1").update(data).digest();
}

function sha256(data: Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}
