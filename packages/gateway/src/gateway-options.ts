/** Credentials the gateway accepts tokens from, as an IAM user or role session would hold them. */
export interface GatewayCredential {
  /** The access key id a token names in `X-Amz-Credential`. */
  readonly accessKeyId: string;
  /** The secret key the gateway checks signatures with. */
  readonly secretAccessKey: string;
  /** Set for temporary credentials; a token must then carry it as `X-Amz-Security-Token`. */
  readonly sessionToken?: string | undefined;
  /**
   * When temporary credentials stop working (a Date or epoch ms, as the credential
   * server issues them); tokens signed with them die then too.
   */
  readonly expiration?: Date | number | undefined;
}

/** The database engine the gateway speaks. */
export type GatewayEngine = "postgres" | "mysql";

/** The real database the gateway relays authenticated clients to. */
export interface GatewayBackend {
  /** The real database's host, e.g. `127.0.0.1`. */
  readonly host: string;
  /** The real database's port. */
  readonly port: number;
  /**
   * The backend password for a login user (MySQL/MariaDB users, PostgreSQL md5/SCRAM).
   * Default: no password (PostgreSQL `trust`).
   */
  readonly password?: string | ((user: string) => string | undefined) | undefined;
}

/** Options for {@link startGateway}. Every default is listed here. */
export interface GatewayOptions {
  /** The wire protocol to speak: `postgres` or `mysql` (MySQL and MariaDB). */
  readonly engine: GatewayEngine;
  /**
   * The RDS endpoint the gateway stands for: tokens must be signed for this host and
   * port. `port` defaults to the engine's (5432 / 3306).
   */
  readonly endpoint: { readonly hostname: string; readonly port?: number | undefined };
  /** The region tokens must be signed for. Default: parsed from `endpoint.hostname`. */
  readonly region?: string | undefined;
  /** Whose tokens are accepted: a list, or a function read on every login (rotation). */
  readonly credentials: readonly GatewayCredential[] | (() => readonly GatewayCredential[]);
  /** Database users allowed to log in. Default: any user the backend knows. */
  readonly allowedUsers?: readonly string[] | undefined;
  /** The real database authenticated sessions are relayed to. */
  readonly backend: GatewayBackend;
  /** Where to listen. Default `127.0.0.1`, port 0 (any free port). */
  readonly listen?: { readonly host?: string | undefined; readonly port?: number | undefined };
  /**
   * The TLS certificate clients see. Default: a self-signed one made at start for the
   * endpoint's hostname, `localhost`, `127.0.0.1` and `::1`.
   */
  readonly tls?: { readonly key: string; readonly cert: string } | undefined;
  /** Accept clients that do not use TLS (RDS refuses them). Default false. */
  readonly allowPlaintext?: boolean | undefined;
  /** How far in the future `X-Amz-Date` may lie, for clock drift. Default 300 s. */
  readonly clockSkewSeconds?: number | undefined;
  /** The gateway's clock (ms since the epoch). Default `Date.now`. */
  readonly now?: (() => number) | undefined;
  /**
   * How long a client may take from connecting to a verified login; a client still
   * handshaking then is disconnected (refused as `timeout`). It bounds what idle or
   * stalled sockets can hold. Default 10 000 ms.
   */
  readonly handshakeTimeoutMs?: number | undefined;
  /**
   * Called, synchronously, with every refused login or handshake, as it happens: for
   * logs (the CLI prints each one). What it receives never holds the token, its
   * signature or a secret. An error it throws is rethrown outside the login path.
   */
  readonly onRefusal?: ((refusal: GatewayRefusal) => void) | undefined;
}

/** Why a login was refused; the keys of {@link GatewayStats.rejected}. */
export type RejectReason =
  | "plaintext"
  | "malformed"
  | "signature"
  | "unknown-credentials"
  | "credentials-expired"
  | "session-token"
  | "expired"
  | "not-yet-valid"
  | "expires-too-long"
  | "endpoint"
  | "region"
  | "service"
  | "action"
  | "user"
  | "not-allowed"
  | "injected"
  | "backend"
  /** No verified login within `handshakeTimeoutMs`: an idle or stalled client. */
  | "timeout"
  /** A message before login longer than any login needs: refused unread. */
  | "oversized";

/**
 * One refusal, as {@link GatewayOptions.onRefusal} reports it. Everything here is safe
 * to log: the user, address and access key id are public, and `detail` names what did
 * not match, never token content.
 */
export interface GatewayRefusal {
  /** Why; also the key counted in {@link GatewayStats.rejected}. */
  readonly reason: RejectReason;
  /** What did not match and what was expected, in words. */
  readonly detail: string;
  /** The database user the client asked for; undefined if it never said. */
  readonly user: string | undefined;
  /** The client's address and port, e.g. `127.0.0.1:53412` or `[::1]:53412`. */
  readonly client: string;
  /** The access key id the token named (public), if the token got that far. */
  readonly accessKeyId: string | undefined;
}

/** Counters since the gateway started. */
export interface GatewayStats {
  /** Client connections accepted by the listener. */
  readonly connections: number;
  /** Client connections open now. */
  readonly active: number;
  /** Logins whose token was accepted. */
  readonly accepted: number;
  /** Refused logins and handshakes, by reason (only reasons that occurred appear). */
  readonly rejected: Readonly<Partial<Record<RejectReason, number>>>;
  /** PostgreSQL `CancelRequest`s forwarded to the backend. */
  readonly cancelRequests: number;
}

/** Faults for reliability tests. */
export interface GatewayFaults {
  /** Refuse the next `count` logins with the RDS error, whatever their token. */
  rejectNextLogins(count: number): void;
  /** Delay every handshake by `ms` before asking for the password. */
  setHandshakeLatency(ms: number): void;
  /** Sets the gateway's clock offset to `ms` (positive: ahead of `now`); 0 undoes it. */
  skewClock(ms: number): void;
  /** Close the next `count` connections right after they authenticate. */
  dropAfterAuth(count: number): void;
  /** Clear every fault. */
  reset(): void;
}

/** A running gateway. */
export interface Gateway {
  /** The protocol it speaks. */
  readonly engine: GatewayEngine;
  /** Where clients connect. */
  readonly host: string;
  /** The port clients connect to (the one chosen when `listen.port` was 0). */
  readonly port: number;
  /** The endpoint tokens must be signed for. */
  readonly endpoint: { readonly hostname: string; readonly port: number };
  /** The region tokens must be signed for now (see {@link Gateway.setRegion}). */
  readonly region: string;
  /**
   * Plays an Aurora global database switchover or failover behind a global writer
   * endpoint: from the next login on, tokens must be signed for `region` (the new
   * writer's); tokens for the old one are refused as RDS refuses them.
   */
  setRegion(region: string): void;
  /** The PEM clients trust to verify the gateway's certificate. */
  readonly caCertificate: string;
  /** Fault injection for reliability tests. */
  readonly faults: GatewayFaults;
  /** The counters since the gateway started. */
  stats(): GatewayStats;
  /** Stops listening and closes every relayed connection. */
  close(): Promise<void>;
}
