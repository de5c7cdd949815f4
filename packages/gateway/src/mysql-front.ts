import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ByteReader } from "./byte-reader";
import {
  MysqlBackendError,
  mysqlBackendLogin,
  openMysqlBackend,
  readPacket,
} from "./mysql-backend-login";
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
import { delay, type SessionContext, upgradeToTls } from "./session-context";

/**
 * Serves one MySQL/MariaDB client the way RDS does for an IAM user: a greeting built
 * from the backend's own (so capabilities and version match), TLS, an AuthSwitchRequest
 * to `mysql_clear_password`, the token check, and only then a login to the real
 * database with the client's flags; then commands are relayed.
 */
export async function serveMysqlClient(raw: Socket, context: SessionContext): Promise<void> {
  let stream: Duplex = raw;
  let reader = new ByteReader(raw);
  let backend: Awaited<ReturnType<typeof openMysqlBackend>> | undefined;
  try {
    backend = await openMysqlBackend(context.backend);
    context.track(backend.socket);
    const offered = context.secureContext ? CLIENT_SSL : 0;
    const greeting = {
      ...backend.greeting,
      // Compression would hide the command stream the gateway must watch.
      capabilities:
        ((backend.greeting.capabilities &
          ~(CLIENT_SSL | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION)) |
          offered |
          CLIENT_PLUGIN_AUTH) >>>
        0,
      // Printable, like a real server's scramble; nothing is ever checked against it.
      scramble: Buffer.from(randomBytes(20).map((byte) => (byte % 94) + 33)),
      authPlugin: "mysql_native_password",
    };
    stream.write(packet(0, greetingPayload(greeting)));
    let first = await readPacket(reader);
    let encrypted = false;
    if (isSslRequest(first.payload) && context.secureContext) {
      const secure = await upgradeToTls(raw, context.secureContext, reader.detach());
      context.track(secure);
      stream = secure;
      reader = new ByteReader(secure);
      encrypted = true;
      first = await readPacket(reader);
    }
    const response = parseHandshakeResponse(first.payload);
    let sequence = first.sequence + 1;
    const deny = (reason: Parameters<SessionContext["reject"]>[0] | undefined) => {
      if (reason) context.reject(reason);
      stream.end(
        packet(
          sequence,
          errPayload(
            1045,
            "28000",
            `Access denied for user '${response.user}'@'${remoteAddress(raw)}' (using password: YES)`,
          ),
        ),
      );
    };
    if (!encrypted && !context.allowPlaintext) {
      // RDS answers an IAM login without TLS with a plain access-denied.
      deny("plaintext");
      return;
    }
    await delay(context.handshakeLatency());
    let token: string;
    if (response.authPlugin === "mysql_clear_password" && response.authResponse.length > 0) {
      token = response.authResponse.toString("utf8");
    } else {
      stream.write(packet(sequence, authSwitchPayload("mysql_clear_password", Buffer.alloc(0))));
      const answer = await readPacket(reader);
      token = answer.payload.toString("utf8");
      sequence = answer.sequence + 1;
    }
    token = token.replace(/\0$/, "");
    const verdict = context.authenticate(response.user, token);
    if (!verdict.ok) {
      deny(undefined);
      return;
    }
    let login: { ok: Buffer; pending: Buffer };
    try {
      login = await mysqlBackendLogin(backend, response, context.backendPassword(response.user));
    } catch (error) {
      context.reject("backend");
      const payload =
        error instanceof MysqlBackendError && error.payload
          ? error.payload
          : errPayload(
              2013,
              "HY000",
              `gateway could not log in to the database: ${(error as Error).message}`,
            );
      stream.end(packet(sequence, payload));
      return;
    }
    if (context.takeDropAfterAuth()) {
      stream.write(packet(sequence, login.ok));
      backend.socket.destroy();
      stream.destroy();
      return;
    }
    stream.write(packet(sequence, login.ok));
    relayMysqlCommands(stream, reader.detach(), backend.socket, login.pending);
  } catch {
    reader.detach();
    backend?.reader.detach();
    backend?.socket.destroy();
    stream.destroy();
  }
}

function remoteAddress(socket: Socket): string {
  return (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
}
