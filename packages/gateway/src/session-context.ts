import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type SecureContext, TLSSocket } from "node:tls";
import type { RejectReason } from "./gateway-options";

/** The outcome of checking a client's token (and any injected fault). */
export type LoginVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: RejectReason };

/**
 * How a front's handshake ended: `relaying` once the session is relayed to the
 * backend (the handshake deadline no longer applies), `ended` for everything else
 * (refused, cancelled, dropped, or the client went away).
 */
export type HandshakeOutcome = "relaying" | "ended";

/** What a protocol front needs from the gateway for one client connection. */
export interface SessionContext {
  /** Undefined when the gateway offers no TLS. */
  readonly secureContext: SecureContext | undefined;
  readonly allowPlaintext: boolean;
  readonly backend: { readonly host: string; readonly port: number };
  /** The bound on connecting to the backend and reading its greeting, ms. */
  readonly backendTimeoutMs: number;
  /** The client's address and port, for error messages and refusal reports. */
  readonly client: { readonly address: string; readonly label: string };
  backendPassword(user: string): string | undefined;
  /** Checks a token for `user`, counting and reporting the outcome. */
  authenticate(user: string, token: string): LoginVerdict;
  /** Counts and reports a refusal decided by the front itself (no TLS, the backend, ...). */
  reject(
    reason: RejectReason,
    refusal: { readonly user?: string | undefined; readonly detail: string },
  ): void;
  /** Added handshake latency, ms. */
  handshakeLatency(): number;
  /** True if this connection should be dropped right after it authenticates (a fault). */
  takeDropAfterAuth(): boolean;
  /** Registers a socket so that `close()` can end it. */
  track(socket: Duplex): void;
  countCancelRequest(): void;
}

/**
 * Upgrades a server-side socket to TLS and resolves once the handshake completes.
 * `pending` is what the client sent already (a MySQL client sends its TLS hello right
 * behind its SSLRequest); put back on the socket, Node's TLS layer reads it first.
 * `track` gets the TLS socket at once: from then on only destroying it closes the
 * connection, and a client that never finishes the handshake must still be closable.
 */
export function upgradeToTls(
  socket: Socket,
  secureContext: SecureContext,
  pending: Buffer,
  track: (secure: TLSSocket) => void,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    if (pending.length > 0) socket.unshift(pending);
    const secure = new TLSSocket(socket, { isServer: true, secureContext });
    track(secure);
    secure.once("secure", () => {
      secure.off("error", reject);
      resolve(secure);
    });
    secure.once("error", reject);
  });
}

/** Pipes two established streams into each other, first flushing what each side already sent. */
export function relay(
  client: Duplex,
  clientPending: Buffer,
  backend: Duplex,
  backendPending: Buffer,
): void {
  const end = () => {
    client.destroy();
    backend.destroy();
  };
  client.on("error", end);
  backend.on("error", end);
  client.on("close", end);
  backend.on("close", end);
  if (clientPending.length > 0) backend.write(clientPending);
  if (backendPending.length > 0) client.write(backendPending);
  client.pipe(backend);
  backend.pipe(client);
}

export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
