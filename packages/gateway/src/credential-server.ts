import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One set of temporary credentials, as the server issued it. */
export interface IssuedCredentials {
  /** A made-up access key id, unique per issued set. */
  readonly accessKeyId: string;
  /** The matching secret key (random; a secret all the same). */
  readonly secretAccessKey: string;
  /** The session token tokens signed with this set must carry. */
  readonly sessionToken: string;
  /** Epoch ms. */
  readonly expiration: number;
}

/** Options for {@link startCredentialServer}. */
export interface CredentialServerOptions {
  /** Default 127.0.0.1 on a free port. The AWS SDK only accepts loopback over http. */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** How long each issued set lives. Default one hour. */
  readonly lifetimeMs?: number;
  /** A new set is issued once the current one has less than this left. Default 15 min. */
  readonly renewBeforeMs?: number;
  /** Time source (epoch ms), shared with the gateway in simulations. Default `Date.now`. */
  readonly clock?: () => number;
  /** Added to every answer, like a real metadata endpoint. Default 0. */
  readonly latencyMs?: number;
  /** Called with every newly issued set, e.g. to let a gateway accept it. */
  readonly onIssue?: (credentials: IssuedCredentials) => void;
  /** Required `Authorization` header value, as `AWS_CONTAINER_AUTHORIZATION_TOKEN` sends it. */
  readonly authorizationToken?: string;
}

/** Counters: what the endpoint was asked and answered. */
export interface CredentialServerStats {
  /** Requests received. */
  readonly requests: number;
  /** Requests answered with an error (refused authorization or an injected outage). */
  readonly failures: number;
  /** Credential sets issued. */
  readonly issued: number;
}

/** A running credential endpoint. */
export interface CredentialServer {
  /** Put this in `AWS_CONTAINER_CREDENTIALS_FULL_URI`. */
  readonly url: string;
  /** Every set issued so far (a gateway accepts these). */
  issued(): readonly IssuedCredentials[];
  /** The counters since the server started. */
  stats(): CredentialServerStats;
  /** Answer errors (HTTP 500) while true: an outage. */
  setFailing(failing: boolean): void;
  /** Delay every answer by `ms` from now on. */
  setLatency(ms: number): void;
  /** Issue a new set on the next request, whatever the current one's age. */
  rotate(): void;
  /** The environment that points the AWS SDK's provider chain here. */
  env(): Record<string, string>;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * A loopback stand-in for the ECS / EKS container credentials endpoint: the real
 * AWS SDK provider chain fetches rotating temporary credentials from it, so tests
 * and demos exercise credential refresh without AWS.
 */
export async function startCredentialServer(
  options: CredentialServerOptions = {},
): Promise<CredentialServer> {
  const clock = options.clock ?? Date.now;
  const lifetimeMs = options.lifetimeMs ?? 60 * 60_000;
  const renewBeforeMs = options.renewBeforeMs ?? 15 * 60_000;
  let latencyMs = options.latencyMs ?? 0;
  let failing = false;
  let forceRotate = false;
  let requests = 0;
  let failures = 0;
  const issued: IssuedCredentials[] = [];

  const current = (): IssuedCredentials => {
    const now = clock();
    const last = issued[issued.length - 1];
    if (last !== undefined && !forceRotate && last.expiration - now > renewBeforeMs) return last;
    forceRotate = false;
    const serial = String(issued.length + 1).padStart(4, "0");
    const fresh: IssuedCredentials = {
      accessKeyId: `ASIALOCAL${serial}${randomBytes(4).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomBytes(48).toString("base64"),
      expiration: now + lifetimeMs,
    };
    issued.push(fresh);
    options.onIssue?.(fresh);
    return fresh;
  };

  const answer = (request: IncomingMessage, response: ServerResponse) => {
    requests++;
    if (
      options.authorizationToken !== undefined &&
      request.headers.authorization !== options.authorizationToken
    ) {
      failures++;
      response.writeHead(401).end();
      return;
    }
    if (failing) {
      failures++;
      response
        .writeHead(500, { "content-type": "application/json" })
        .end('{"message":"credential source unavailable"}');
      return;
    }
    const credentials = current();
    response.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        Token: credentials.sessionToken,
        Expiration: new Date(credentials.expiration).toISOString(),
      }),
    );
  };

  const server = createServer((request, response) => {
    if (latencyMs > 0) setTimeout(() => answer(request, response), latencyMs);
    else answer(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen?.port ?? 0, options.listen?.host ?? "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/v2/credentials/local`;

  return {
    url,
    issued: () => [...issued],
    stats: () => ({ requests, failures, issued: issued.length }),
    setFailing: (value) => {
      failing = value;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    rotate: () => {
      forceRotate = true;
    },
    env: () => ({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
      ...(options.authorizationToken === undefined
        ? {}
        : { AWS_CONTAINER_AUTHORIZATION_TOKEN: options.authorizationToken }),
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
