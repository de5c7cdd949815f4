import type { Duplex } from "node:stream";
import { MysqlInfileState } from "./mysql-infile";
import { mayBeKill, translateKill } from "./mysql-kill";
import { COM_CHANGE_USER, errPayload, packet } from "./mysql-packets";

/**
 * Relays an authenticated MySQL session. Backend-to-client bytes flow untouched;
 * client-to-backend bytes are watched at packet boundaries so that COM_CHANGE_USER,
 * which would log in as another user without a token, is refused as RDS would not let
 * it bypass IAM, and so that a `KILL` of a connection id the gateway handed out is
 * sent on with the backend thread it stands for (see {@link translateKill}).
 */
export function relayMysqlCommands(
  client: Duplex,
  clientPending: Buffer,
  backend: Duplex,
  backendPending: Buffer,
  backendIdOf: (id: number) => number | undefined,
): void {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    client.destroy();
    backend.destroy();
  };
  for (const stream of [client, backend]) {
    stream.on("error", end);
    stream.on("close", end);
  }
  // Backend-to-client bytes are relayed untouched; the infile state only reads them.
  const infile = new MysqlInfileState();
  if (backendPending.length > 0) client.write(backendPending);
  backend.on("data", (chunk: Buffer) => infile.serverData(chunk));
  backend.pipe(client);

  // Bytes left in the current packet, and a partial packet carried between chunks.
  let remaining = 0;
  let carry: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    const data: Buffer = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    carry = Buffer.alloc(0);
    // What goes to the backend: runs of `data` as they came, and rewritten packets.
    const out: Buffer[] = [];
    let from = 0;
    let at = 0;
    while (at < data.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, data.length - at);
        remaining -= take;
        at += take;
        continue;
      }
      // A command starts a packet with sequence 0; its first payload byte names it.
      const available = data.length - at;
      const needed = available >= 4 && (data[at + 3] !== 0 || data.readUIntLE(at, 3) === 0) ? 4 : 5;
      if (available < needed) {
        carry = data.subarray(at);
        break;
      }
      const length = data.readUIntLE(at, 3);
      const sequence = data[at + 3] as number;
      const command = data[at + 4];
      // File data (LOAD DATA LOCAL INFILE) is not commands, whatever its bytes say.
      const inFile = infile.sendingFile;
      infile.clientPacket(sequence, length);
      if (inFile) {
        remaining = length;
        at += 4;
        continue;
      }
      if (sequence === 0 && length > 0 && command === COM_CHANGE_USER) {
        client.write(
          packet(
            1,
            errPayload(
              1045,
              "28000",
              "COM_CHANGE_USER is not allowed through IAM authentication; open a new connection",
            ),
          ),
        );
        out.push(data.subarray(from, at));
        const before = Buffer.concat(out);
        if (before.length > 0) backend.write(before);
        client.end();
        backend.destroy();
        return;
      }
      if (sequence === 0 && mayBeKill(command, length)) {
        // Short: held whole (at most MAX_KILL_PAYLOAD bytes) to be read.
        if (available < 4 + length) {
          carry = data.subarray(at);
          break;
        }
        const rewritten = translateKill(data.subarray(at + 4, at + 4 + length), backendIdOf);
        if (rewritten) {
          out.push(data.subarray(from, at), packet(0, rewritten));
          at += 4 + length;
          from = at;
          continue;
        }
      }
      remaining = length;
      at += 4;
    }
    out.push(data.subarray(from, data.length - carry.length));
    const forward = out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
    if (forward.length > 0 && !backend.write(forward)) {
      client.pause();
      backend.once("drain", () => client.resume());
    }
  };
  client.on("data", onData);
  if (clientPending.length > 0) onData(clientPending);
  // The handshake reader paused the client; a data listener alone does not resume it.
  client.resume();
}
