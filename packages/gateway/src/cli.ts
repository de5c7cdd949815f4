#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { type CredentialServer, startCredentialServer } from "./credential-server";
import { startGateway } from "./gateway";
import type { Gateway, GatewayCredential } from "./gateway-options";
import { type PrivateFile, writePrivateFile } from "./private-file";
import { writePublicFile } from "./public-file";
import { formatRefusal, formatStats } from "./refusal-log";

const HELP = `rds-iam-gateway: a local stand-in for an RDS endpoint with IAM authentication.

Clients log in with IAM tokens over TLS; each token is checked as RDS checks it
(signature, clock, endpoint, region, user, credentials), then the session is relayed
to a real database, logged in as the same user.

Usage:
  rds-iam-gateway --engine postgres|mysql --endpoint HOST[:PORT] --backend HOST:PORT [options]

Options:
  --engine ENGINE          postgres or mysql (required)
  --endpoint HOST[:PORT]   the RDS endpoint tokens must be signed for (required);
                           port defaults to 5432 / 3306
  --region REGION          signing region (default: read from the endpoint's name)
  --backend HOST:PORT      the real database to relay to (required)
  --backend-password-env VAR
                           environment variable holding the backend password for
                           every user (MySQL / MariaDB, or PostgreSQL md5 / SCRAM)
  --listen HOST:PORT       where to listen (default 127.0.0.1:0, a free port)
  --allow-user USER        accept only this database user (repeatable)
  --allow-plaintext        accept clients without TLS (RDS refuses them)
  --ca-out FILE            write the CA certificate clients should trust to FILE
  --serve-credentials      also serve made-up, rotating temporary credentials on a
                           loopback container-credentials endpoint, and accept
                           tokens signed with them; prints the variables to export
                           where tokens are made (no AWS account needed)
  --handshake-timeout SECONDS
                           disconnect a client that has not logged in after
                           SECONDS (default 10)
  -h, --help               show this help

Accepted credentials come from the environment, as the AWS CLI reads them:
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary credentials,
AWS_SESSION_TOKEN (optional with --serve-credentials). Use the same ones to make
tokens, e.g.
  aws rds generate-db-auth-token --hostname HOST --port PORT --username USER --region REGION
With --serve-credentials, run that in a shell where the printed export lines are set
(and no other AWS credentials are configured: the SDKs try those first).

Each refused login is logged to stderr with its reason, the client's address, the user
and the access key id (never the token); the counts are printed at exit.
Stop with Ctrl-C.`;

function fail(message: string): never {
  process.stderr.write(`rds-iam-gateway: ${message}\nRun rds-iam-gateway --help for usage.\n`);
  process.exit(2);
}

function log(line: string): void {
  process.stderr.write(`rds-iam-gateway: ${line}\n`);
}

function hostPort(value: string, option: string): { host: string; port: number | undefined } {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(value);
  if (!match?.[1]) fail(`${option} must be HOST or HOST:PORT, got "${value}"`);
  return { host: match[1], port: match[2] === undefined ? undefined : Number(match[2]) };
}

/** A word the shell reads back as it is: quoted unless plainly safe. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The credentials of the environment, if any are set. */
function environmentCredentials(): GatewayCredential | undefined {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN || undefined };
}

/** A loopback credential endpoint and the file holding the token it asks callers for. */
interface ServedCredentials {
  readonly server: CredentialServer;
  readonly tokenFile: PrivateFile;
}

/**
 * Starts the credential endpoint. It requires an authorization token, kept in a file
 * only this user can read (the SDKs read `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), so
 * that other local users cannot fetch credentials this gateway accepts; neither the
 * token nor any credential is ever printed.
 */
async function serveCredentials(): Promise<ServedCredentials> {
  const authorizationToken = randomBytes(32).toString("base64url");
  const tokenFile = writePrivateFile("authorization-token", authorizationToken);
  try {
    const server = await startCredentialServer({ authorizationToken });
    return { server, tokenFile };
  } catch (error) {
    tokenFile.remove();
    throw error;
  }
}

async function main(): Promise<void> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse().values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const engine = values.engine;
  if (engine !== "postgres" && engine !== "mysql") fail("--engine must be postgres or mysql");
  if (!values.endpoint) fail("--endpoint is required");
  if (!values.backend) fail("--backend is required");
  const endpoint = hostPort(values.endpoint, "--endpoint");
  const backend = hostPort(values.backend, "--backend");
  if (backend.port === undefined) fail("--backend needs a port: HOST:PORT");
  const listen = values.listen ? hostPort(values.listen, "--listen") : undefined;
  const serving = values["serve-credentials"] === true;
  const fromEnvironment = environmentCredentials();
  if (!fromEnvironment && !serving) {
    fail(
      "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the credentials whose tokens to accept), " +
        "or pass --serve-credentials",
    );
  }
  let handshakeTimeoutMs: number | undefined;
  if (values["handshake-timeout"] !== undefined) {
    const seconds = Number(values["handshake-timeout"]);
    if (!(seconds > 0) || seconds > 86_400) {
      fail(
        `--handshake-timeout must be a number of seconds above 0 and at most 86400, got "${values["handshake-timeout"]}"`,
      );
    }
    handshakeTimeoutMs = Math.max(1, Math.round(seconds * 1000));
  }
  const passwordVar = values["backend-password-env"];
  const backendPassword = passwordVar ? process.env[passwordVar] : undefined;
  if (passwordVar && backendPassword === undefined)
    fail(`environment variable ${passwordVar} is not set`);

  let served: ServedCredentials | undefined;
  let gateway: Gateway;
  try {
    served = serving ? await serveCredentials() : undefined;
    const server = served?.server;
    const fixed = fromEnvironment ? [fromEnvironment] : [];
    gateway = await startGateway({
      engine,
      endpoint: { hostname: endpoint.host, port: endpoint.port },
      region: values.region,
      // Read on every login: the endpoint issues a new set as the current one ages.
      credentials: server ? () => [...fixed, ...server.issued()] : fixed,
      backend: { host: backend.host, port: backend.port, password: backendPassword },
      listen: { host: listen?.host, port: listen?.port },
      allowedUsers: values["allow-user"],
      allowPlaintext: values["allow-plaintext"] === true,
      handshakeTimeoutMs,
      onRefusal: (refusal) => log(formatRefusal(refusal)),
    });
    if (values["ca-out"]) writePublicFile(values["ca-out"], gateway.caCertificate);
  } catch (error) {
    await served?.server.close();
    served?.tokenFile.remove();
    fail((error as Error).message);
  }
  // A crash or an exit() elsewhere still removes the token file.
  process.once("exit", () => served?.tokenFile.remove());
  process.stdout.write(
    `rds-iam-gateway: ${engine} on ${gateway.host}:${gateway.port}, standing for ` +
      `${gateway.endpoint.hostname}:${gateway.endpoint.port} (${gateway.region}), relaying to ` +
      `${backend.host}:${backend.port}${values["ca-out"] ? `; CA in ${values["ca-out"]}` : ""}\n`,
  );
  if (served) {
    const env = served.server.env();
    process.stdout.write(
      "# Made-up temporary credentials, accepted by this gateway only; where tokens are made:\n" +
        `export AWS_CONTAINER_CREDENTIALS_FULL_URI=${shellWord(env.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? "")}\n` +
        `export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=${shellWord(served.tokenFile.path)}\n`,
    );
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${formatStats(gateway.stats())}`);
    void Promise.all([gateway.close(), served?.server.close()]).then(() => {
      served?.tokenFile.remove();
      process.exit(0);
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A closed terminal: without a handler Node exits at once and the credentials
  // endpoint's token file would stay behind.
  process.once("SIGHUP", stop);
}

function parse() {
  return parseArgs({
    options: {
      engine: { type: "string" },
      endpoint: { type: "string" },
      region: { type: "string" },
      backend: { type: "string" },
      "backend-password-env": { type: "string" },
      listen: { type: "string" },
      "allow-user": { type: "string", multiple: true },
      "allow-plaintext": { type: "boolean" },
      "ca-out": { type: "string" },
      "serve-credentials": { type: "boolean" },
      "handshake-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
}

void main();
