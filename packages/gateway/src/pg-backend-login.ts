import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { connect, type Socket } from "node:net";
import { ByteReader } from "./byte-reader";
import {
  parseErrorFields,
  passwordMessage,
  saslInitialResponse,
  startupMessage,
} from "./pg-messages";

/** The backend refused the login; `response` is its ErrorResponse, to relay verbatim. */
export class BackendLoginError extends Error {
  constructor(
    message: string,
    readonly response?: Buffer,
  ) {
    super(message);
    this.name = "BackendLoginError";
  }
}

/** A backend session ready for queries, with what it sent after AuthenticationOk (to relay). */
export interface PgBackendSession {
  readonly socket: Socket;
  readonly pending: Buffer;
}

/**
 * Logs in to the real PostgreSQL as the client's user, with the client's startup
 * parameters, answering whichever method the server asks for (trust, cleartext, md5,
 * SCRAM-SHA-256). The client never sees this exchange: it authenticated with its token.
 */
export async function pgBackendLogin(
  backend: { host: string; port: number },
  parameters: ReadonlyMap<string, string>,
  password: string | undefined,
): Promise<PgBackendSession> {
  const socket = await dial(backend.host, backend.port);
  const reader = new ByteReader(socket);
  try {
    socket.write(startupMessage(parameters));
    const user = parameters.get("user") ?? "";
    let scram: ScramClient | undefined;
    for (;;) {
      const header = await reader.read(5);
      const type = String.fromCharCode(header[0] as number);
      const body = await reader.read(header.readInt32BE(1) - 4);
      if (type === "E") {
        const { message: text } = parseErrorFields(body);
        throw new BackendLoginError(
          text ?? "backend refused the login",
          Buffer.concat([header, body]),
        );
      }
      if (type !== "R")
        throw new BackendLoginError(`unexpected backend message ${type} during login`);
      const code = body.readInt32BE(0);
      if (code === 0) break;
      const secret = requirePassword(password, user);
      if (code === 3) {
        socket.write(passwordMessage(Buffer.from(`${secret}\0`, "utf8")));
      } else if (code === 5) {
        socket.write(
          passwordMessage(Buffer.from(`${md5Password(user, secret, body.subarray(4, 8))}\0`)),
        );
      } else if (code === 10) {
        const mechanisms = body.subarray(4).toString("utf8").split("\0");
        if (!mechanisms.includes("SCRAM-SHA-256")) {
          throw new BackendLoginError(
            `backend offers no supported SASL mechanism: ${mechanisms.join(", ")}`,
          );
        }
        scram = new ScramClient(secret);
        socket.write(passwordMessage(saslInitialResponse("SCRAM-SHA-256", scram.first())));
      } else if (code === 11 && scram) {
        socket.write(passwordMessage(scram.final(body.subarray(4).toString("utf8"))));
      } else if (code === 12 && scram) {
        scram.verifyServer(body.subarray(4).toString("utf8"));
      } else {
        throw new BackendLoginError(
          `backend asks for an unsupported authentication method (${code})`,
        );
      }
    }
    // With trust (or any) authentication PostgreSQL still refuses a missing role or
    // database after AuthenticationOk: read on to ReadyForQuery, so that such a refusal
    // is the login's outcome (reported and counted), not a message relayed unnoticed.
    const after: Buffer[] = [];
    for (;;) {
      const header = await reader.read(5);
      const body = await reader.read(header.readInt32BE(1) - 4);
      if (header[0] === 0x45) {
        const { message: text } = parseErrorFields(body);
        throw new BackendLoginError(
          text ?? "backend refused the session",
          Buffer.concat([header, body]),
        );
      }
      after.push(header, body);
      if (header[0] === 0x5a) break;
    }
    return { socket, pending: Buffer.concat([...after, reader.detach()]) };
  } catch (error) {
    reader.detach();
    socket.destroy();
    throw error;
  }
}

function requirePassword(password: string | undefined, user: string): string {
  if (password === undefined) {
    throw new BackendLoginError(
      `the backend asks for a password for "${user}" and the gateway has none (backend.password)`,
    );
  }
  return password;
}

function dial(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash("md5")
    .update(password + user)
    .digest("hex");
  return `md5${createHash("md5")
    .update(Buffer.concat([Buffer.from(inner), salt]))
    .digest("hex")}`;
}

// RFC 5802 / 7677 client side, as PostgreSQL speaks it (no channel binding).
class ScramClient {
  readonly #password: string;
  readonly #nonce = randomBytes(18).toString("base64");
  #authMessage = "";
  #saltedPassword = Buffer.alloc(0);

  constructor(password: string) {
    this.#password = password;
  }

  first(): Buffer {
    return Buffer.from(`n,,${this.#firstBare()}`);
  }

  #firstBare(): string {
    return `n=*,r=${this.#nonce}`;
  }

  final(serverFirst: string): Buffer {
    const fields = new Map(serverFirst.split(",").map((f) => [f.slice(0, 1), f.slice(2)]));
    const nonce = fields.get("r") ?? "";
    const salt = Buffer.from(fields.get("s") ?? "", "base64");
    const iterations = Number(fields.get("i"));
    if (!nonce.startsWith(this.#nonce) || !Number.isInteger(iterations) || iterations < 1) {
      throw new BackendLoginError("backend sent an invalid SCRAM challenge");
    }
    this.#saltedPassword = pbkdf2Sync(
      this.#password.normalize("NFKC"),
      salt,
      iterations,
      32,
      "sha256",
    );
    const clientKey = hmac(this.#saltedPassword, "Client Key");
    const storedKey = createHash("sha256").update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    this.#authMessage = `${this.#firstBare()},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, this.#authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] as number)));
    return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`);
  }

  verifyServer(serverFinal: string): void {
    const expected = hmac(hmac(this.#saltedPassword, "Server Key"), this.#authMessage);
    const got = Buffer.from(serverFinal.replace(/^v=/, "").split(",")[0] ?? "", "base64");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new BackendLoginError("backend's SCRAM signature does not verify");
    }
  }
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}
