import { createServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createSecureContext } from "node:tls";
import { selfSignedCertificate } from "./certificate";
import { clientOf } from "./client-address";
import type {
  Gateway,
  GatewayCredential,
  GatewayOptions,
  GatewayRefusal,
  GatewayStats,
  RejectReason,
} from "./gateway-options";
import { type MysqlFrontState, serveMysqlClient } from "./mysql-front";
import { MysqlGreetingCache } from "./mysql-greeting-cache";
import { MysqlSessionIds } from "./mysql-session-ids";
import { servePgClient } from "./pg-front";
import type { HandshakeOutcome, LoginVerdict, SessionContext } from "./session-context";
import { verifyToken } from "./token-verifier";

const DEFAULT_PORTS = { postgres: 5432, mysql: 3306 } as const;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** setTimeout's limit; a longer delay would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;
const REGION_LABEL = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/**
 * Starts a local stand-in for an RDS endpoint: clients log in with IAM tokens over
 * TLS; the gateway checks each token as RDS would, then relays the session to a real
 * database, logged in as the same user.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const engine = options.engine;
  if (engine !== "postgres" && engine !== "mysql") {
    throw new TypeError(`engine must be "postgres" or "mysql", got ${JSON.stringify(engine)}`);
  }
  const hostname = options.endpoint?.hostname?.toLowerCase().replace(/\.$/, "");
  if (!hostname)
    throw new TypeError("endpoint.hostname is required: the RDS endpoint the gateway stands for");
  const endpoint = { hostname, port: options.endpoint.port ?? DEFAULT_PORTS[engine] };
  const initialRegion =
    options.region ?? hostname.split(".").find((label) => REGION_LABEL.test(label));
  if (!initialRegion) {
    throw new TypeError(
      `region is required: it cannot be read from endpoint.hostname "${hostname}"`,
    );
  }
  // Changes only through setRegion (a simulated global database failover).
  let region: string = initialRegion;
  if (!options.backend?.host || !options.backend.port) {
    throw new TypeError(
      "backend.host and backend.port are required: the real database to relay to",
    );
  }
  const readCredentials =
    typeof options.credentials === "function"
      ? options.credentials
      : (() => {
          const list = options.credentials;
          return () => list;
        })();
  const baseNow = options.now ?? Date.now;
  const clockSkewSeconds = options.clockSkewSeconds ?? 300;
  const certificate = options.tls ?? (await selfSignedCertificate([hostname]));
  const secureContext = createSecureContext({ key: certificate.key, cert: certificate.cert });

  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (
    typeof handshakeTimeoutMs !== "number" ||
    !(handshakeTimeoutMs > 0) ||
    handshakeTimeoutMs > MAX_TIMER_MS
  ) {
    throw new TypeError(
      `handshakeTimeoutMs must be a number of ms from 1 to ${MAX_TIMER_MS}, got ${String(handshakeTimeoutMs)}`,
    );
  }

  let skewMs = 0;
  let rejectNext = 0;
  let latencyMs = 0;
  let dropNext = 0;
  let connections = 0;
  let active = 0;
  let accepted = 0;
  let cancelRequests = 0;
  const rejected: Partial<Record<RejectReason, number>> = {};
  const open = new Set<Duplex>();
  const refuse = (refusal: GatewayRefusal) => {
    rejected[refusal.reason] = (rejected[refusal.reason] ?? 0) + 1;
    const listener = options.onRefusal;
    if (!listener) return;
    try {
      listener(refusal);
    } catch (error) {
      // A listener's bug must not decide how a client's login ends.
      queueMicrotask(() => {
        throw error;
      });
    }
  };
  const backendPassword = options.backend.password;
  const backend = { host: options.backend.host, port: options.backend.port };
  const track = (stream: Duplex) => {
    open.add(stream);
    stream.once("close", () => open.delete(stream));
    // A peer may reset at any moment, also while we write our refusal after the
    // session's own listeners are gone: an unhandled 'error' would end the process.
    stream.on("error", () => stream.destroy());
  };

  /** The context of one client connection: shared state, plus who the client is. */
  const contextFor = (socket: Socket): SessionContext & { refused(): boolean; destroy(): void } => {
    const client = clientOf(socket);
    let refused = false;
    // This connection's streams: the socket, its TLS layer and its backend connection,
    // all ended together when the handshake deadline passes.
    const streams = new Set<Duplex>([socket]);
    const report = (refusal: Omit<GatewayRefusal, "client">) => {
      refused = true;
      refuse({ ...refusal, client: client.label });
    };
    return {
      secureContext,
      allowPlaintext: options.allowPlaintext === true,
      backend,
      backendTimeoutMs: handshakeTimeoutMs,
      client,
      backendPassword: (user) =>
        typeof backendPassword === "function" ? backendPassword(user) : backendPassword,
      authenticate(user, token): LoginVerdict {
        if (rejectNext > 0) {
          rejectNext -= 1;
          report({
            reason: "injected",
            detail: "an injected fault (faults.rejectNextLogins)",
            user,
            accessKeyId: undefined,
          });
          return { ok: false, reason: "injected" };
        }
        const verdict = verifyToken(token, {
          user,
          endpoint,
          region,
          credentials: readCredentials() as readonly GatewayCredential[],
          now: baseNow() + skewMs,
          clockSkewSeconds,
          ...(options.allowedUsers ? { allowedUsers: options.allowedUsers } : {}),
        });
        if (!verdict.ok) {
          report({
            reason: verdict.reason,
            detail: verdict.detail,
            user,
            accessKeyId: verdict.accessKeyId,
          });
          return { ok: false, reason: verdict.reason };
        }
        accepted += 1;
        return { ok: true };
      },
      reject(reason, refusal) {
        report({ reason, detail: refusal.detail, user: refusal.user, accessKeyId: undefined });
      },
      handshakeLatency: () => latencyMs,
      takeDropAfterAuth() {
        if (dropNext <= 0) return false;
        dropNext -= 1;
        return true;
      },
      track(stream) {
        streams.add(stream);
        stream.once("close", () => streams.delete(stream));
        track(stream);
      },
      countCancelRequest() {
        cancelRequests += 1;
      },
      refused: () => refused,
      destroy() {
        for (const stream of streams) stream.destroy();
      },
    };
  };

  const mysqlState: MysqlFrontState | undefined =
    engine === "mysql"
      ? {
          greetings: new MysqlGreetingCache(backend, handshakeTimeoutMs),
          ids: new MysqlSessionIds(),
        }
      : undefined;
  // Read the backend's greeting now, so that the first client costs the backend nothing
  // either; if the backend is down, the first client that connects tries again.
  await mysqlState?.greetings.get().catch(() => undefined);
  const serve = (socket: Socket, context: SessionContext): Promise<HandshakeOutcome> =>
    mysqlState ? serveMysqlClient(socket, context, mysqlState) : servePgClient(socket, context);

  const server = createServer((socket: Socket) => {
    connections += 1;
    active += 1;
    socket.setNoDelay(true);
    track(socket);
    const context = contextFor(socket);
    let settled = false;
    // Until its session is relayed, a client holds a socket (and a reader) that only a
    // deadline frees if it stalls; a refused client that lingers is closed then too.
    const deadline = setTimeout(() => {
      if (!settled && !context.refused()) {
        refuse({
          reason: "timeout",
          detail: `no verified login within ${handshakeTimeoutMs} ms`,
          user: undefined,
          client: context.client.label,
          accessKeyId: undefined,
        });
      }
      context.destroy();
    }, handshakeTimeoutMs);
    socket.once("close", () => {
      active -= 1;
      clearTimeout(deadline);
    });
    void serve(socket, context).then(
      (outcome) => {
        settled = true;
        if (outcome === "relaying") clearTimeout(deadline);
      },
      () => {
        // The fronts catch what they expect; anything else still closes the client.
        settled = true;
        context.destroy();
      },
    );
  });
  // Many clients may dial at once (pool warm-up); the default backlog would drop some.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(
      { host: options.listen?.host ?? "127.0.0.1", port: options.listen?.port ?? 0, backlog: 1024 },
      () => {
        server.off("error", reject);
        resolve();
      },
    );
  });
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("gateway has no TCP address");

  return {
    engine,
    host: address.address,
    port: address.port,
    endpoint,
    get region() {
      return region;
    },
    setRegion(next) {
      if (typeof next !== "string" || !REGION_LABEL.test(next)) {
        throw new TypeError(`region must be a region name like "us-east-1", got ${String(next)}`);
      }
      region = next;
    },
    caCertificate: certificate.cert,
    faults: {
      rejectNextLogins(count) {
        rejectNext = count;
      },
      setHandshakeLatency(ms) {
        latencyMs = ms;
      },
      skewClock(ms) {
        skewMs = ms;
      },
      dropAfterAuth(count) {
        dropNext = count;
      },
      reset() {
        rejectNext = 0;
        latencyMs = 0;
        skewMs = 0;
        dropNext = 0;
      },
    },
    stats(): GatewayStats {
      return {
        connections,
        active,
        accepted,
        rejected: { ...rejected },
        cancelRequests,
      };
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const stream of open) stream.destroy();
        open.clear();
      });
    },
  };
}
