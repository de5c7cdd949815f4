import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ByteReader } from "./byte-reader";
import {
  type MysqlBackend,
  MysqlBackendError,
  type MysqlPacket,
  mysqlBackendLogin,
  openMysqlBackend,
} from "./mysql-backend-login";
import type { MysqlGreetingCache } from "./mysql-greeting-cache";
import {
  authSwitchPayload,
  CLIENT_COMPRESS,
  CLIENT_PLUGIN_AUTH,
  CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION,
  errPayload,
  greetingPayload,
  isSslRequest,
  packet,
  parseHandshakeResponse,
} from "./mysql-packets";
import { relayMysqlCommands } from "./mysql-relay";
import type { MysqlSessionIds } from "./mysql-session-ids";
import { checkMessageSize, OversizedMessageError } from "./oversized-message";
import { delay, type HandshakeOutcome, type SessionContext, upgradeToTls } from "./session-context";

/**
 * The longest packet a client may send before login: a handshake response (user,
 * database, connection attributes) or the token, which is at most 16 KB. MySQL packets
 * run to 16 MiB; buffering that for a client nobody has authenticated is what this bounds.
 */
export const MAX_HANDSHAKE_PACKET = 65_536;

/** What the MySQL front shares across a gateway's connections. */
export interface MysqlFrontState {
  /** The backend's greeting, mirrored before a backend connection exists. */
  readonly greetings: MysqlGreetingCache;
  /** The connection ids handed out in greetings, and the backend threads they stand for. */
  readonly ids: MysqlSessionIds;
}

/**
 * Serves one MySQL/MariaDB client the way RDS does for an IAM user: a greeting built
 * from the backend's own (so capabilities and version match), TLS, an AuthSwitchRequest
 * to `mysql_clear_password`, the token check, and only then a connection and login to
 * the real database with the client's flags; then commands are relayed. Until the
 * token is verified the client costs the backend nothing and the gateway at most
 * {@link MAX_HANDSHAKE_PACKET} bytes.
 */
export async function serveMysqlClient(
  raw: Socket,
  context: SessionContext,
  state: MysqlFrontState,
): Promise<HandshakeOutcome> {
  let stream: Duplex = raw;
  let reader = new ByteReader(raw);
  let backend: MysqlBackend | undefined;
  let user: string | undefined;
  // The sequence id of the gateway's next packet: one past the client's last.
  let sequence = 0;
  const readClientPacket = async (): Promise<MysqlPacket> => {
    const header = await reader.read(4);
    const length = header.readUIntLE(0, 3);
    sequence = ((header[3] as number) + 1) & 0xff;
    checkMessageSize("a packet", length, MAX_HANDSHAKE_PACKET);
    return { sequence: header[3] as number, payload: await reader.read(length) };
  };
  const sessionId = state.ids.allocate();
  try {
    let mirrored: Awaited<ReturnType<MysqlGreetingCache["get"]>>;
    try {
      mirrored = await state.greetings.get();
    } catch (error) {
      // As a server that cannot take the connection does: an error instead of a greeting.
      const detail = `could not read the database's greeting: ${(error as Error).message}`;
      context.reject("backend", { detail });
      stream.end(packet(0, errPayload(2013, "HY000", `gateway ${detail}`)));
      return "ended";
    }
    const offered = context.secureContext ? CLIENT_SSL : 0;
    const greeting = {
      ...mirrored,
      connectionId: sessionId,
      // Compression would hide the command stream the gateway must watch.
      capabilities:
        ((mirrored.capabilities & ~(CLIENT_SSL | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION)) |
          offered |
          CLIENT_PLUGIN_AUTH) >>>
        0,
      // Printable, like a real server's scramble; nothing is ever checked against it.
      scramble: Buffer.from(randomBytes(20).map((byte) => (byte % 94) + 33)),
      authPlugin: "mysql_native_password",
    };
    stream.write(packet(0, greetingPayload(greeting)));
    let first = await readClientPacket();
    let encrypted = false;
    if (isSslRequest(first.payload) && context.secureContext) {
      const secure = await upgradeToTls(raw, context.secureContext, reader.detach(), (secure) =>
        context.track(secure),
      );
      stream = secure;
      reader = new ByteReader(secure);
      encrypted = true;
      first = await readClientPacket();
    }
    const response = parseHandshakeResponse(first.payload);
    user = response.user;
    const deny = () => {
      stream.end(
        packet(
          sequence,
          errPayload(
            1045,
            "28000",
            `Access denied for user '${response.user}'@'${context.client.address}' (using password: YES)`,
          ),
        ),
      );
    };
    if (!encrypted && !context.allowPlaintext) {
      // RDS answers an IAM login without TLS with a plain access-denied.
      context.reject("plaintext", { user, detail: "the client did not ask for TLS" });
      deny();
      return "ended";
    }
    await delay(context.handshakeLatency());
    let token: string;
    if (response.authPlugin === "mysql_clear_password" && response.authResponse.length > 0) {
      token = response.authResponse.toString("utf8");
    } else {
      stream.write(packet(sequence, authSwitchPayload("mysql_clear_password", Buffer.alloc(0))));
      token = (await readClientPacket()).payload.toString("utf8");
    }
    token = token.replace(/\0$/, "");
    const verdict = context.authenticate(response.user, token);
    if (!verdict.ok) {
      deny();
      return "ended";
    }
    let login: { ok: Buffer; pending: Buffer };
    try {
      // Only now, for a verified token, does the backend hear of this client.
      backend = await openMysqlBackend(context.backend, context.backendTimeoutMs);
      context.track(backend.socket);
      state.greetings.update(backend.greeting);
      login = await mysqlBackendLogin(backend, response, context.backendPassword(response.user));
    } catch (error) {
      context.reject("backend", { user, detail: (error as Error).message });
      backend?.socket.destroy();
      const payload =
        error instanceof MysqlBackendError && error.payload
          ? error.payload
          : errPayload(
              2013,
              "HY000",
              `gateway could not log in to the database: ${(error as Error).message}`,
            );
      stream.end(packet(sequence, payload));
      return "ended";
    }
    if (stream.destroyed || context.takeDropAfterAuth()) {
      // Gone while the backend logged in (the handshake deadline), or a fault.
      if (!stream.destroyed) stream.write(packet(sequence, login.ok));
      backend.socket.destroy();
      stream.destroy();
      return "ended";
    }
    state.ids.bind(sessionId, backend.greeting.connectionId);
    backend.socket.once("close", () => state.ids.release(sessionId));
    stream.write(packet(sequence, login.ok));
    relayMysqlCommands(stream, reader.detach(), backend.socket, login.pending, (id) =>
      state.ids.backendIdOf(id),
    );
    return "relaying";
  } catch (error) {
    reader.detach();
    backend?.reader.detach();
    backend?.socket.destroy();
    if (error instanceof OversizedMessageError) {
      context.reject("oversized", { user, detail: error.message });
      // MySQL's own answer; then the connection goes, whatever the client still sends.
      const tooLarge = errPayload(
        1153,
        "08S01",
        "Got a packet bigger than 'max_allowed_packet' bytes",
      );
      stream.end(packet(sequence, tooLarge), () => stream.destroy());
    } else {
      stream.destroy();
    }
    return "ended";
  }
}
