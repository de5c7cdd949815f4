import { connect as connectTcp, isIP, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { connect as connectTls } from "node:tls";
import { type IamAuth, RdsIamError, type ResolvedTls } from "@rds-iam/core";
import { authRejected, isAuthFailure } from "@rds-iam/core/driver";
import {
  AUTH_CLEARTEXT,
  AUTH_OK,
  authenticationType,
  isCancelRequest,
  parseServerError,
  passwordMessage,
  type ServerMessage,
  SSL_REQUEST,
  splitServerMessages,
  untypedMessageLength,
} from "./startup-messages";

/** Where a login socket dials and how it proves who it talks to. */
export interface IamLoginTarget {
  /** The token provider; its target says where to dial. */
  readonly auth: IamAuth;
  /** The TLS decided by the binding (`false`: allowed loopback plaintext). */
  readonly tls: ResolvedTls;
}

/** What the login does after one server message. */
type LoginStep = "continue" | "rejected" | "handOver";

/** How a login attempt ended. */
type Outcome = { readonly ok: true } | { readonly ok: false; readonly rejection: Error };

/**
 * The socket postgres.js talks to (its `socket` option), standing between it and the
 * server until the login is done.
 *
 * postgres.js has no hook around a login: a rejected password fails the query that
 * opened the connection, and a password function that rejects is an unhandled
 * rejection inside it. So this socket does the login's secret part itself: it fetches
 * the token (a failure destroys the socket with our typed error, which postgres.js
 * hands to the query), negotiates and verifies TLS, forwards postgres.js's startup
 * message, answers the server's cleartext-password request with the token, and if the
 * server rejects that token, drops it and logs in once more with a fresh one on a new
 * connection, replaying the startup message. postgres.js sees one connection that
 * logged in; after `AuthenticationOk` every byte passes through untouched. The token
 * never reaches postgres.js (its options hold no password).
 */
export class IamLoginSocket extends Duplex {
  /** For postgres.js's error messages (`write CONNECTION_CLOSED host:port`). */
  readonly host: string;
  readonly port: number;
  readonly #target: IamLoginTarget;
  #server: Socket | undefined;
  #relaying = false;
  /** Client bytes before the relay starts: the startup message, then anything queued. */
  #early: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  #started = false;
  #keepAlive: [boolean, number] | undefined;

  constructor(target: IamLoginTarget) {
    super({ allowHalfOpen: false });
    this.#target = target;
    this.host = target.auth.target.host;
    this.port = target.auth.target.port;
  }

  /** postgres.js checks it before sending `Terminate` and before waiting for `close`. */
  get readyState(): "open" | "closed" {
    return this.destroyed ? "closed" : "open";
  }

  /** postgres.js's `keep_alive`: applied to each server connection. */
  setKeepAlive(enable = false, delay = 0): this {
    this.#keepAlive = [enable, delay];
    this.#server?.setKeepAlive(enable, delay);
    return this;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    if (this.#relaying && this.#server !== undefined) {
      this.#server.write(chunk, done);
      return;
    }
    // Before the login is done, postgres.js sends only its startup (or cancel) message.
    this.#early = Buffer.concat([this.#early, chunk]);
    done();
    const length = untypedMessageLength(this.#early);
    if (!this.#started && length !== undefined && this.#early.length >= length) {
      this.#started = true;
      const first = this.#early.subarray(0, length);
      this.#early = this.#early.subarray(length);
      this.#start(first).catch((error: unknown) => this.destroy(asError(error)));
    }
  }

  override _read(): void {
    this.#server?.resume();
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.#relaying && this.#server !== undefined) this.#server.end();
    else this.destroy();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#server?.destroy();
    this.#server = undefined;
    done(error);
  }

  async #start(first: Buffer): Promise<void> {
    if (isCancelRequest(first)) {
      // A cancel request logs in to nothing: no token, just the verified connection.
      const server = await this.#dial();
      server.write(first);
      this.#relay(server, Buffer.alloc(0));
      return;
    }
    const { auth } = this.#target;
    for (let attempt = 1; ; attempt++) {
      const token = await auth.getToken();
      if (this.destroyed) return;
      const outcome = await this.#login(first, token);
      if (outcome.ok) return;
      auth.invalidate(token);
      // A retry's rejection, or one that outlived a fresh token, is final.
      if (attempt === 2) throw authRejected(auth, outcome.rejection);
    }
  }

  /**
   * One login on a new server connection: forwards the startup message and answers the
   * password request. Resolves when the server accepted (the relay has begun) or
   * rejected the token; anything else the server says goes to postgres.js.
   */
  async #login(startup: Buffer, token: string): Promise<Outcome> {
    const server = await this.#dial();
    return new Promise<Outcome>((resolve, reject) => {
      let inbound: Buffer<ArrayBufferLike> = Buffer.alloc(0);
      const settle = (outcome: Outcome | Error, behind?: Buffer) => {
        server.off("data", onData);
        server.off("error", onError);
        server.off("close", onClose);
        if (outcome instanceof Error) {
          server.destroy();
          reject(outcome);
        } else if (!outcome.ok) {
          server.destroy();
          resolve(outcome);
        } else {
          this.#relay(server, behind ?? Buffer.alloc(0));
          resolve(outcome);
        }
      };
      const onData = (chunk: Buffer) => {
        let split: ReturnType<typeof splitServerMessages>;
        try {
          split = splitServerMessages(Buffer.concat([inbound, chunk]));
        } catch (error) {
          settle(asError(error));
          return;
        }
        const { messages, rest } = split;
        inbound = rest;
        for (let index = 0; index < messages.length; index++) {
          const message = messages[index] as ServerMessage;
          let step: LoginStep;
          try {
            step = this.#onLoginMessage(server, message, token);
          } catch (error) {
            settle(asError(error));
            return;
          }
          if (step === "continue") continue;
          if (step === "rejected") {
            settle({ ok: false, rejection: rejection(message) });
            return;
          }
          // Accepted, or an error that is not about the token: postgres.js takes over
          // from this message on, with whatever arrived behind it.
          const behind = Buffer.concat([...messages.slice(index).map((m) => m.bytes), inbound]);
          settle({ ok: true }, behind);
          return;
        }
      };
      const onError = (error: Error) => settle(error);
      const onClose = () =>
        settle(new Error("The server closed the connection during the IAM login."));
      server.on("data", onData);
      server.once("error", onError);
      server.once("close", onClose);
      server.write(startup);
    });
  }

  /** What one server message during the login means for it. */
  #onLoginMessage(server: Socket, message: ServerMessage, token: string): LoginStep {
    if (message.type === "R") {
      const type = authenticationType(message);
      if (type === AUTH_OK) return "handOver";
      if (type !== AUTH_CLEARTEXT) {
        throw new RdsIamError(
          "AUTH_REJECTED",
          `The server asked for authentication method ${type}, not the cleartext password an RDS IAM login sends (the token was not sent). Check that host / iamHost name an RDS endpoint with IAM authentication enabled and that the user has the rds_iam role.`,
          { option: "host" },
        );
      }
      const password = passwordMessage(token);
      // Wipe our copy of the token once the socket has taken it.
      server.write(password, () => password.fill(0));
      return "continue";
    }
    if (message.type === "E") {
      return isAuthFailure(rejection(message), "postgres") ? "rejected" : "handOver";
    }
    // Notices and protocol negotiation: postgres.js's business, but they come before
    // `AuthenticationOk`, so hand them over now and keep reading.
    this.push(message.bytes);
    return "continue";
  }

  /** Hands the server connection to postgres.js: `behind` first, then every byte. */
  #relay(server: Socket, behind: Buffer): void {
    this.#relaying = true;
    if (behind.length > 0) this.push(behind);
    server.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) server.pause();
    });
    server.once("end", () => this.push(null));
    server.once("error", (error) => this.destroy(error));
    server.once("close", () => this.destroy());
    if (this.#early.length > 0) {
      server.write(this.#early);
      this.#early = Buffer.alloc(0);
    }
  }

  /** A new server connection, switched to TLS and verified (unless plaintext was allowed). */
  async #dial(): Promise<Socket> {
    const { host, port } = this.#target.auth.target;
    const raw = connectTcp({ host, port });
    // Adopted while it connects: if postgres.js gives up (connect_timeout, sql.end()),
    // destroying this socket abandons the connect instead of leaving it to the
    // kernel's SYN retries.
    this.#adopt(raw);
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new RdsIamError("CLOSED", CLOSED_DURING_LOGIN));
      raw.once("connect", () => {
        raw.off("error", reject).off("close", onClose);
        resolve();
      });
      raw.once("error", reject);
      raw.once("close", onClose);
    });
    const { tls } = this.#target;
    if (tls === false) return raw;
    raw.write(SSL_REQUEST);
    const answer = await new Promise<Buffer>((resolve, reject) => {
      raw.once("data", resolve);
      raw.once("error", reject);
      raw.once("close", () => reject(new Error("The server closed the connection.")));
    });
    raw.removeAllListeners("error").removeAllListeners("close");
    // One byte, nothing behind it: bytes a man in the middle slipped in before the
    // handshake would otherwise be read as if the TLS server had sent them.
    if (answer.length !== 1 || answer[0] !== 0x53) {
      raw.destroy();
      throw new RdsIamError(
        answer[0] === 0x4e ? "PLAINTEXT_REFUSED" : "TLS_VERIFICATION_FAILED",
        answer[0] === 0x4e
          ? `Refusing to send an IAM token: ${host}:${port} does not accept TLS. RDS always does; check host and port.`
          : `Refusing to send an IAM token: ${host}:${port} answered the TLS request with something other than one "S" byte.`,
        { option: "ssl" },
      );
    }
    const secure = connectTls({
      ...tls,
      socket: raw,
      servername: tls.servername ?? (isIP(host) === 0 ? host : undefined),
    });
    // The TCP socket's errors end the TLS socket (and reach whoever listens there).
    raw.on("error", (error) => secure.destroy(error));
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => {
        secure.off("error", onError);
        resolve();
      });
      const onError = (error: Error) =>
        reject(
          new RdsIamError(
            "TLS_VERIFICATION_FAILED",
            `Refusing to send an IAM token: the TLS handshake with ${host}:${port} failed (${error.message}). Trust the server's CA with ssl: { ca } (default: the RDS CA bundle) and check that iamHost is the name its certificate carries.`,
            { option: "ssl", cause: error },
          ),
        );
      secure.once("error", onError);
    });
    this.#adopt(secure);
    return secure;
  }

  /** Makes `socket` the server connection this socket closes when it is destroyed. */
  #adopt(socket: Socket): void {
    if (this.destroyed) {
      socket.destroy();
      throw new RdsIamError("CLOSED", CLOSED_DURING_LOGIN);
    }
    // A TLS socket replaces the TCP socket it wraps (destroying it destroys both); a
    // retry's new connection replaces one the login already destroyed.
    this.#server = socket;
    if (this.#keepAlive !== undefined) socket.setKeepAlive(...this.#keepAlive);
  }
}

const CLOSED_DURING_LOGIN = "The connection was closed during the IAM login.";

/** The server's `ErrorResponse` as an error object core's checks read. */
function rejection(message: ServerMessage): Error {
  const { code, severity, message: text } = parseServerError(message);
  return Object.assign(new Error(text), { code, severity });
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
