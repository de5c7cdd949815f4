#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startGateway } from "./gateway";
import type { GatewayCredential } from "./gateway-options";
import { writePublicFile } from "./public-file";

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
  -h, --help               show this help

Accepted credentials come from the environment, as the AWS CLI reads them:
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary credentials,
AWS_SESSION_TOKEN. Use the same ones to make tokens, e.g.
  aws rds generate-db-auth-token --hostname HOST --port PORT --username USER --region REGION
Stop with Ctrl-C.`;

function fail(message: string): never {
  process.stderr.write(`rds-iam-gateway: ${message}\nRun rds-iam-gateway --help for usage.\n`);
  process.exit(2);
}

function hostPort(value: string, option: string): { host: string; port: number | undefined } {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(value);
  if (!match?.[1]) fail(`${option} must be HOST or HOST:PORT, got "${value}"`);
  return { host: match[1], port: match[2] === undefined ? undefined : Number(match[2]) };
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
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    fail("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the credentials whose tokens to accept");
  }
  const credential: GatewayCredential = {
    accessKeyId,
    secretAccessKey,
    sessionToken: process.env.AWS_SESSION_TOKEN || undefined,
  };
  const passwordVar = values["backend-password-env"];
  const backendPassword = passwordVar ? process.env[passwordVar] : undefined;
  if (passwordVar && backendPassword === undefined)
    fail(`environment variable ${passwordVar} is not set`);
  try {
    const gateway = await startGateway({
      engine,
      endpoint: { hostname: endpoint.host, port: endpoint.port },
      region: values.region,
      credentials: [credential],
      backend: { host: backend.host, port: backend.port, password: backendPassword },
      listen: { host: listen?.host, port: listen?.port },
      allowedUsers: values["allow-user"],
      allowPlaintext: values["allow-plaintext"] === true,
    });
    if (values["ca-out"]) writePublicFile(values["ca-out"], gateway.caCertificate);
    process.stdout.write(
      `rds-iam-gateway: ${engine} on ${gateway.host}:${gateway.port}, standing for ` +
        `${gateway.endpoint.hostname}:${gateway.endpoint.port} (${gateway.region}), relaying to ` +
        `${backend.host}:${backend.port}${values["ca-out"] ? `; CA in ${values["ca-out"]}` : ""}\n`,
    );
    const stop = () => {
      void gateway.close().then(() => process.exit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  } catch (error) {
    fail((error as Error).message);
  }
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
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
}

void main();
