import { RdsIamError } from "@rds-iam/core";
import { pauseIamAuth, refuseUnverifyingMariadb } from "@rds-iam/core/driver";
import type { DialectConnect, SequelizeEndpoint } from "./sequelize-endpoint";

/** Endpoints by the `password` function their configs carry. */
const endpoints = new WeakMap<object, SequelizeEndpoint>();

export function registerEndpoint(endpoint: SequelizeEndpoint): void {
  endpoints.set(endpoint.password, endpoint);
}

/** The endpoint whose `password` a config carries, if it is one of ours. */
export function endpointOf(password: unknown): SequelizeEndpoint | undefined {
  return typeof password === "function" ? endpoints.get(password) : undefined;
}

/** The part of a Sequelize 6 instance the hook uses. */
interface SequelizeLike {
  connectionManager?: {
    connect?: DialectConnect;
    close?: (...args: never[]) => Promise<unknown>;
    [PATCHED]?: true;
  };
}

const PATCHED = Symbol.for("@rds-iam/sequelize.connect");

/**
 * Sequelize 6 runs `beforeConnect(config)` with the Sequelize instance as `this`, then
 * calls its dialect connection manager's `connect(config)` with the same `config`,
 * for every new pooled connection. That `config` is shared by all connections of a
 * pool (read, write or the only one), so a token written into it would stay there,
 * visible to `util.inspect`, and could not be retried. Instead, the first call wraps
 * the instance's `connect` once: each connection gets its token from its endpoint (pg:
 * the password function; mysql2: the auth plugin; mariadb: a copy of the config made
 * per attempt), and a rejected login is retried once with a fresh token.
 * `sequelize.close()` also pauses the endpoints' background refreshes.
 */
export async function iamBeforeConnect(this: unknown): Promise<void> {
  const manager = (this as SequelizeLike | undefined)?.connectionManager;
  if (manager?.[PATCHED] === true) return;
  const connect = manager?.connect;
  const close = manager?.close;
  if (manager === undefined || typeof connect !== "function" || typeof close !== "function") {
    throw new RdsIamError(
      "INVALID_OPTION",
      "withIamAuth's beforeConnect hook ran outside a Sequelize 6 instance (no connectionManager.connect): pass the options to new Sequelize(...) from the sequelize 6 package.",
      { option: "hooks.beforeConnect" },
    );
  }
  const used = new Set<SequelizeEndpoint>();
  Object.defineProperty(manager, PATCHED, { value: true });
  Object.defineProperty(manager, "connect", {
    configurable: true,
    writable: true,
    value: function iamConnect(this: unknown, config: Record<string, unknown>) {
      const endpoint = endpointOf(config.password);
      if (endpoint === undefined) throw replaced("password");
      // A later beforeConnect that re-targets the config would send a token signed
      // for another endpoint.
      if (config.username !== endpoint.username) throw replaced("username");
      if (endpoint.host !== undefined && config.host !== endpoint.host) throw replaced("host");
      // A mariadb connector before 3.5.1 would send the token before it checks the
      // certificate (the module Sequelize loaded decides).
      const lib = this as { dialectName?: unknown; lib?: unknown };
      if (lib.dialectName === "mariadb") refuseUnverifyingMariadb(lib.lib);
      used.add(endpoint);
      return endpoint.connect((copy) => connect.call(this, copy), config);
    },
  });
  Object.defineProperty(manager, "close", {
    configurable: true,
    writable: true,
    value: function closeAndPause(this: unknown, ...args: never[]) {
      for (const endpoint of used) pauseIamAuth(endpoint.auth);
      return close.apply(this, args);
    },
  });
}

function replaced(field: string): RdsIamError {
  return new RdsIamError(
    "CONFLICTING_OPTIONS",
    `A beforeConnect hook changed config.${field}: with IAM authentication the token is the password and is signed for the configured host and username. Remove that hook, or configure the endpoint in withIamAuth's options (read replicas under replication).`,
    { option: `config.${field}` },
  );
}
