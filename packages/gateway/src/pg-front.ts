import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ByteReader } from "./byte-reader";
import { checkMessageSize, OversizedMessageError } from "./oversized-message";
import { BackendLoginError, pgBackendLogin } from "./pg-backend-login";
import {
  authentication,
  CANCEL_REQUEST_CODE,
  errorResponse,
  GSSENC_REQUEST_CODE,
  PROTOCOL_3,
  parseStartupParameters,
  SSL_REQUEST_CODE,
} from "./pg-messages";
import {
  delay,
  type HandshakeOutcome,
  relay,
  type SessionContext,
  upgradeToTls,
} from "./session-context";

/** PostgreSQL's own limit for a startup packet (MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP_LENGTH = 10_000;
/** Far above a token (at most 16 KB); what a password message may claim before login. */
const MAX_PASSWORD_LENGTH = 64_000;

/**
 * Serves one PostgreSQL client the way RDS does for an IAM user: TLS on SSLRequest,
 * a cleartext password request, the token check, and only then a login to the real
 * database as the same user, after which bytes are relayed untouched.
 */
export async function servePgClient(
  raw: Socket,
  context: SessionContext,
): Promise<HandshakeOutcome> {
  let stream: Duplex = raw;
  let reader = new ByteReader(raw);
  let encrypted = false;
  let user: string | undefined;
  try {
    let parameters: Map<string, string> | undefined;
    while (!parameters) {
      const head = await reader.read(8);
      const length = head.readInt32BE(0);
      const code = head.readInt32BE(4);
      if (length < 8) throw new Error("invalid startup packet");
      checkMessageSize("a startup message", length, MAX_STARTUP_LENGTH);
      const body = await reader.read(length - 8);
      if (code === SSL_REQUEST_CODE && !encrypted) {
        if (!context.secureContext) {
          raw.write("N");
          continue;
        }
        const early = reader.detach();
        raw.write("S");
        const secure = await upgradeToTls(raw, context.secureContext, early, (secure) =>
          context.track(secure),
        );
        stream = secure;
        reader = new ByteReader(secure);
        encrypted = true;
      } else if (code === GSSENC_REQUEST_CODE) {
        stream.write("N");
      } else if (code === CANCEL_REQUEST_CODE) {
        // The client learnt the backend's own process id and key (relayed verbatim), so
        // the request goes to the backend as it is.
        context.countCancelRequest();
        forwardCancel(context.backend, Buffer.concat([head, body]));
        raw.end();
        return "ended";
      } else if (code === PROTOCOL_3) {
        parameters = parseStartupParameters(body);
      } else {
        stream.end(
          errorResponse({
            severity: "FATAL",
            code: "0A000",
            message: `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}`,
          }),
        );
        return "ended";
      }
    }
    user = parameters.get("user") ?? "";
    const database = parameters.get("database") ?? user;
    if (!encrypted && !context.allowPlaintext) {
      // RDS (rds.force_ssl=1) refuses before it asks for a password.
      context.reject("plaintext", { user, detail: "the client did not ask for TLS" });
      stream.end(
        errorResponse({
          severity: "FATAL",
          code: "28000",
          message: `no pg_hba.conf entry for host "${context.client.address}", user "${user}", database "${database}", no encryption`,
        }),
      );
      return "ended";
    }
    await delay(context.handshakeLatency());
    stream.write(authentication(3));
    const header = await reader.read(5);
    if (header[0] !== 0x70) throw new Error("expected a password message");
    const length = header.readInt32BE(1);
    if (length < 5) throw new Error("invalid password message");
    checkMessageSize("a password message", length, MAX_PASSWORD_LENGTH);
    const token = (await reader.read(length - 4)).toString("utf8").replace(/\0$/, "");
    const verdict = context.authenticate(user, token);
    if (!verdict.ok) {
      stream.end(
        errorResponse({
          severity: "FATAL",
          code: "28000",
          message: `PAM authentication failed for user "${user}"`,
        }),
      );
      return "ended";
    }
    let session: Awaited<ReturnType<typeof pgBackendLogin>>;
    try {
      session = await pgBackendLogin(context.backend, parameters, context.backendPassword(user));
    } catch (error) {
      context.reject("backend", { user, detail: (error as Error).message });
      if (error instanceof BackendLoginError && error.response) stream.end(error.response);
      else
        stream.end(
          errorResponse({
            severity: "FATAL",
            code: "08006",
            message: `gateway could not reach the database: ${(error as Error).message}`,
          }),
        );
      return "ended";
    }
    context.track(session.socket);
    if (stream.destroyed || context.takeDropAfterAuth()) {
      // Gone while the backend logged in (the handshake deadline), or a fault.
      if (!stream.destroyed) stream.write(authentication(0));
      session.socket.destroy();
      stream.destroy();
      return "ended";
    }
    stream.write(authentication(0));
    relay(stream, reader.detach(), session.socket, session.pending);
    return "relaying";
  } catch (error) {
    if (error instanceof OversizedMessageError) {
      // PostgreSQL itself closes without an answer on a bad length; so does the gateway.
      context.reject("oversized", { user, detail: error.message });
    }
    reader.detach();
    stream.destroy();
    return "ended";
  }
}

function forwardCancel(backend: { host: string; port: number }, request: Buffer): void {
  const socket = connect({ host: backend.host, port: backend.port }, () => socket.end(request));
  socket.on("error", () => socket.destroy());
}
