import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ByteReader } from "../src/byte-reader";
import { BackendLoginError, pgBackendLogin } from "../src/pg-backend-login";
import { authentication, errorResponse, message } from "../src/pg-messages";

// The machine's PostgreSQL trusts loopback and its pg_hba.conf is not ours to change,
// so the md5 and SCRAM-SHA-256 exchanges are checked against a scripted server that
// implements the server side of RFC 5802 / 7677 and PostgreSQL's md5 rule.

const USER = "app_user";
let server: Server | undefined;
afterEach(() => server?.close());

async function scriptedServer(script: (socket: Socket, reader: ByteReader) => Promise<void>) {
  server = createServer((socket) => {
    const reader = new ByteReader(socket);
    script(socket, reader).catch(() => socket.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { host: "127.0.0.1", port: (server.address() as AddressInfo).port };
}

async function readStartup(reader: ByteReader): Promise<void> {
  const length = (await reader.read(4)).readInt32BE(0);
  await reader.read(length - 4);
}

async function readPassword(reader: ByteReader): Promise<Buffer> {
  const header = await reader.read(5);
  expect(String.fromCharCode(header[0] as number)).toBe("p");
  return reader.read(header.readInt32BE(1) - 4);
}

function ready(socket: Socket): void {
  socket.write(Buffer.concat([authentication(0), message("Z", Buffer.from("I"))]));
}

const hmac = (key: Buffer, data: string) => createHmac("sha256", key).update(data).digest();

function scramServer(password: string) {
  return async (socket: Socket, reader: ByteReader) => {
    await readStartup(reader);
    socket.write(authentication(10, Buffer.from("SCRAM-SHA-256\0\0")));
    const initial = await readPassword(reader);
    const mechanismEnd = initial.indexOf(0);
    expect(initial.subarray(0, mechanismEnd).toString()).toBe("SCRAM-SHA-256");
    const clientFirst = initial.subarray(mechanismEnd + 5).toString();
    const clientFirstBare = clientFirst.replace(/^n,,/, "");
    const clientNonce = /r=([^,]+)/.exec(clientFirstBare)?.[1] ?? "";
    const salt = randomBytes(16);
    const nonce = clientNonce + randomBytes(18).toString("base64");
    const serverFirst = `r=${nonce},s=${salt.toString("base64")},i=4096`;
    socket.write(authentication(11, Buffer.from(serverFirst)));
    const clientFinal = (await readPassword(reader)).toString();
    const withoutProof = clientFinal.replace(/,p=[^,]+$/, "");
    const proof = Buffer.from(/,p=([^,]+)$/.exec(clientFinal)?.[1] ?? "", "base64");
    const salted = pbkdf2Sync(password, salt, 4096, 32, "sha256");
    const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] as number)));
    if (!createHash("sha256").update(clientKey).digest().equals(storedKey)) {
      socket.end(
        errorResponse({
          severity: "FATAL",
          code: "28P01",
          message: `password authentication failed for user "${USER}"`,
        }),
      );
      return;
    }
    const serverSignature = hmac(hmac(salted, "Server Key"), authMessage).toString("base64");
    socket.write(authentication(12, Buffer.from(`v=${serverSignature}`)));
    ready(socket);
  };
}

describe("logging in to a PostgreSQL backend", () => {
  const parameters = new Map([
    ["user", USER],
    ["database", USER],
  ]);

  it("answers SCRAM-SHA-256 and hands over what follows AuthenticationOk", async () => {
    const backend = await scriptedServer(scramServer("s3cret"));
    const session = await pgBackendLogin(backend, parameters, "s3cret");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const rest = Buffer.concat([session.pending, session.socket.read() ?? Buffer.alloc(0)]);
    expect(rest.subarray(0, 1).toString()).toBe("Z");
    session.socket.destroy();
  });

  it("relays the backend's refusal of a wrong SCRAM password", async () => {
    const backend = await scriptedServer(scramServer("s3cret"));
    const error = await pgBackendLogin(backend, parameters, "wrong").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendLoginError);
    expect((error as BackendLoginError).response?.subarray(0, 1).toString()).toBe("E");
  });

  it("answers md5 with PostgreSQL's salted double hash", async () => {
    const salt = randomBytes(4);
    const expected = `md5${createHash("md5")
      .update(
        Buffer.concat([Buffer.from(createHash("md5").update(`pw${USER}`).digest("hex")), salt]),
      )
      .digest("hex")}\0`;
    const backend = await scriptedServer(async (socket, reader) => {
      await readStartup(reader);
      socket.write(authentication(5, salt));
      const answer = (await readPassword(reader)).toString();
      if (answer !== expected) throw new Error("bad md5");
      ready(socket);
    });
    const session = await pgBackendLogin(backend, parameters, "pw");
    session.socket.destroy();
  });

  it("says which option is missing when the backend wants a password the gateway lacks", async () => {
    const backend = await scriptedServer(async (socket, reader) => {
      await readStartup(reader);
      socket.write(authentication(3));
    });
    await expect(pgBackendLogin(backend, parameters, undefined)).rejects.toThrow(
      /backend\.password/,
    );
  });
});
