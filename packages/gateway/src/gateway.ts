import { createServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createSecureContext } from "node:tls";
import { selfSignedCertificate } from "./certificate";
import type {
  Gateway,
  GatewayCredential,
  GatewayOptions,
  GatewayStats,
  RejectReason,
} from "./gateway-options";
import { serveMysqlClient } from "./mysql-front";
import { servePgClient } from "./pg-front";
import type { LoginVerdict, SessionContext } from "./session-context";
import { verifyToken } from "./token-verifier";

const DEFAULT_PORTS = { postgres: 5432, mysql: 3306 } as const;
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
  const region = options.region ?? hostname.split(".").find((label) => REGION_LABEL.test(label));
  if (!region) {
    throw new TypeError(
      `region is required: it cannot be read from endpoint.hostname "${hostname}"`,
    );
  }
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
  const reject = (reason: RejectReason) => {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
  };
  const backendPassword = options.backend.password;

  const context: SessionContext = {
    secureContext,
    allowPlaintext: options.allowPlaintext === true,
    backend: { host: options.backend.host, port: options.backend.port },
    backendPassword: (user) =>
      typeof backendPassword === "function" ? backendPassword(user) : backendPassword,
    authenticate(user, token): LoginVerdict {
      if (rejectNext > 0) {
        rejectNext -= 1;
        reject("injected");
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
        reject(verdict.reason);
        return { ok: false, reason: verdict.reason };
      }
      accepted += 1;
      return { ok: true };
    },
    reject,
    handshakeLatency: () => latencyMs,
    takeDropAfterAuth() {
      if (dropNext <= 0) return false;
      dropNext -= 1;
      return true;
    },
    track(stream) {
      open.add(stream);
      stream.once("close", () => open.delete(stream));
    },
    countCancelRequest() {
      cancelRequests += 1;
    },
  };

  const serve = engine === "postgres" ? servePgClient : serveMysqlClient;
  const server = createServer((socket: Socket) => {
    connections += 1;
    active += 1;
    socket.once("close", () => {
      active -= 1;
    });
    socket.setNoDelay(true);
    context.track(socket);
    void serve(socket, context);
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
    region,
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
