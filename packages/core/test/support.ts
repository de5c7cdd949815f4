/** Test-only helpers for reading tokens the way RDS would. */

export interface DecodedToken {
  host: string;
  params: URLSearchParams;
  region: string;
  service: string;
  accessKeyId: string;
  date: string;
}

export function decodeToken(token: string): DecodedToken {
  const url = new URL(`https://${token}`);
  const credential = (url.searchParams.get("X-Amz-Credential") ?? "").split("/");
  return {
    host: url.host,
    params: url.searchParams,
    accessKeyId: credential[0] ?? "",
    date: credential[1] ?? "",
    region: credential[2] ?? "",
    service: credential[3] ?? "",
  };
}

export const STATIC_CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDEXAMPLESTATIC01",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
});

export const SESSION_CREDENTIALS = Object.freeze({
  accessKeyId: "ASIAEXAMPLESESSION01",
  secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+example+session",
});

/** A clock that only moves when told to. */
export function fakeClock(start = Date.UTC(2026, 10, 24, 12, 0, 0)) {
  let now = start;
  const clock = () => now;
  return Object.assign(clock, {
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  });
}

/**
 * What mysql2's stream looks like to an auth plugin once TLS is up: verified or not,
 * resumed or not, with a certificate naming `names` (exact names only: enough to test
 * our decisions, not Node's wildcard matching).
 */
export function tlsStream(
  names: readonly string[],
  { authorized = true, reused = false }: { authorized?: boolean; reused?: boolean } = {},
) {
  return {
    encrypted: true,
    authorized,
    authorizationError: authorized ? null : "SELF_SIGNED_CERT_IN_CHAIN",
    isSessionReused: () => reused,
    getPeerX509Certificate: () =>
      reused
        ? undefined
        : {
            subjectAltName: names.map((name) => `DNS:${name}`).join(", "),
            checkHost: (name: string) => (names.includes(name) ? name : undefined),
          },
    getPeerCertificate: () => ({
      subject: { CN: names[0] ?? "" },
      subjectaltname: names.map((name) => `DNS:${name}`).join(", "),
    }),
  };
}
