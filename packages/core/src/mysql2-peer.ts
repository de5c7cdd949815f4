import { RdsIamError } from "./errors";

/** The part of a TLS socket the check reads (mysql2 upgrades its stream to one). */
interface TlsStreamLike {
  encrypted?: boolean;
  authorized?: boolean;
  authorizationError?: Error | string | null;
  isSessionReused?: () => boolean;
  getPeerX509Certificate?: () =>
    | {
        checkHost(name: string, options?: object): string | undefined;
        subjectAltName?: string | undefined;
      }
    | undefined;
}

/** What mysql2 hands an auth plugin as `connection` (the parts the check reads). */
export interface Mysql2ConnectionLike {
  stream?: TlsStreamLike | undefined;
  config?: { host?: unknown; ssl?: unknown } | undefined;
}

/** RDS certificates use one-label wildcards (`*.cluster-x.region.rds.amazonaws.com`), nothing looser. */
const HOST_CHECK = {
  subject: "default",
  wildcards: true,
  partialWildcards: false,
  multiLabelWildcards: false,
  singleLabelSubdomains: false,
} as const;

/**
 * Throws unless the TLS peer of a mysql2 connection is the endpoint the token is
 * signed for: the chain verified, and the certificate naming `iamHost`.
 *
 * - `rejectUnauthorized: false` in the connection's `ssl` is an explicit opt-out of
 *   all verification: nothing is checked.
 * - A resumed TLS session carries no certificate to look at. mysql2 resumes only
 *   sessions it cached after its own checks, keyed by its `host` and `verifyIdentity`;
 *   so a resumed session is accepted only when mysql2 checked the name itself
 *   (`verifyIdentity` on, `host` is `iamHost`), as `mysql2IamConfig` arranges.
 * - A full handshake: the peer certificate must name `iamHost`.
 *
 * @throws RdsIamError `TLS_VERIFICATION_FAILED`.
 */
export function verifyMysql2Peer(connection: Mysql2ConnectionLike, iamHost: string): void {
  const stream = connection.stream ?? {};
  const ssl = (typeof connection.config?.ssl === "object" ? connection.config.ssl : undefined) as
    | { rejectUnauthorized?: unknown; verifyIdentity?: unknown }
    | undefined;
  if (ssl?.rejectUnauthorized === false) return;
  if (stream.authorized !== true) {
    throw new RdsIamError(
      "TLS_VERIFICATION_FAILED",
      `Refusing to send an IAM token: the server's TLS certificate chain was not verified (${String(stream.authorizationError ?? "no verification result")}). Trust the right CA with ssl: { ca } (default: the RDS CA bundle).`,
      { option: "ssl" },
    );
  }
  if (stream.isSessionReused?.() === true) {
    const host =
      typeof connection.config?.host === "string" ? connection.config.host.toLowerCase() : "";
    if (ssl?.verifyIdentity === true && host.replace(/\.$/, "") === iamHost) return;
    throw new RdsIamError(
      "TLS_VERIFICATION_FAILED",
      `Refusing to send an IAM token over a resumed TLS session whose certificate mysql2 did not check against ${iamHost}. Build the connection options with mysql2IamConfig (it sets host and verifyIdentity so that mysql2 checks the name).`,
      { option: "ssl" },
    );
  }
  const cert = stream.getPeerX509Certificate?.();
  if (cert === undefined) {
    throw new RdsIamError(
      "TLS_VERIFICATION_FAILED",
      "Refusing to send an IAM token: the server presented no TLS certificate to check its name against.",
      { option: "ssl" },
    );
  }
  if (cert.checkHost(iamHost, HOST_CHECK) === undefined) {
    throw new RdsIamError(
      "TLS_VERIFICATION_FAILED",
      `Refusing to send an IAM token: the server's TLS certificate does not name ${iamHost}, the endpoint the token is signed for (it names ${cert.subjectAltName ?? "no subject alternative names"}). Connect to the real endpoint, or set iamHost to the name the certificate carries.`,
      { option: "iamHost" },
    );
  }
}
