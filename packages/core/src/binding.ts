import type { Clock } from "./clock";
import { bindingInput, splitIamOptions } from "./connection-options";
import { describeValue, type Engine, parseEngine } from "./engine";
import { RdsIamError } from "./errors";
import { type IamAuth, iamAuthFor, tokenCacheOption } from "./iam-auth";
import {
  completeIamOptions,
  draftIamOptions,
  type IamAuthOptions,
  type OptionNames,
} from "./options";
import { type ResolvedTls, resolveTls } from "./tls";

/** How an adapter spells the options a binding names in errors. */
export type BindingNames = OptionNames & {
  /** pg's `connectionString` (TypeORM: `url`). */
  readonly connectionString?: string;
};

/** A driver option that would replace the token or its target, refused with its reason. */
export interface RefusedOption {
  /** The option's key in the binding's input. */
  readonly key: string;
  /** Why it cannot be combined with IAM, and what to pass instead. */
  readonly why: string;
}

/** node-postgres lets a connection string override the password function. */
export const PG_CONNECTION_STRING: RefusedOption = {
  key: "connectionString",
  why: "node-postgres lets the connection string override the password function and would send an empty password. Pass host, port, user and database as separate options instead.",
};

/** mysql2 copies a URI's credentials and parameters over the options. */
export const MYSQL2_URI: RefusedOption = {
  key: "uri",
  why: "mysql2 copies the URL's host, user, password and any parameter (debug, ssl, ...) over the options. Pass host, port, user and database as separate options instead.",
};

/** What {@link prepareBinding} does besides the IAM checks every binding shares. */
export interface BindingSpec {
  /** How errors name the binding's entry point (`pgIamConfig`, `iamConnection()`). */
  readonly what: string;
  /**
   * The engine. Default: the input's `engine`; when neither says, the binding is
   * checked now and {@link PreparedBinding.auth} needs the engine (knex learns it from
   * its client). An input `engine` that contradicts this one is refused.
   */
  readonly engine?: Engine | undefined;
  /** How the adapter spells the options. Default: as in the input. */
  readonly names?: BindingNames | undefined;
  /** Driver options to refuse besides `password` (e.g. {@link PG_CONNECTION_STRING}). */
  readonly refuse?: readonly RefusedOption[] | undefined;
}

/**
 * A binding's input, checked and resolved once: what every driver view (pg, mysql2,
 * mariadb, the URL builder) starts from.
 */
export interface PreparedBinding {
  /** The engine from the spec or the input, if either said. */
  readonly engine: Engine | undefined;
  /** The driver's own options: the input minus the IAM options, `ssl` and `password`. */
  readonly driver: Readonly<Record<string, unknown>>;
  /** The TLS decided for the connection (see `resolveTls`). */
  readonly tls: ResolvedTls;
  /** The user's `ssl` option, as given. */
  readonly ssl: unknown;
  /** The explicit plaintext opt-out (loopback hosts only; `resolveTls` checked it). */
  readonly iamAllowPlaintext: boolean;
  /** The explicit opt-in to packet debug output (checked by the driver views). */
  readonly iamAllowTokenInDebugOutput: unknown;
  /** How the adapter spells the options. */
  readonly names: BindingNames;
  /** The resolved `clock` (default `Date.now`), for adapters that keep time of their own. */
  readonly clock: Clock;
  /**
   * The token provider, created at the first call (one per engine: it decides the
   * default ports) from the options resolved up front.
   *
   * @throws RdsIamError `MISSING_OPTION` naming `engine` when neither the spec, the
   * input nor the argument names one.
   */
  auth(engine?: Engine): IamAuth;
  /**
   * A provider of its own for a one-shot use that closes it (the URL view): it shares
   * the process's tokens like any provider, but closing it leaves {@link auth} open.
   */
  oneShotAuth(engine?: Engine): IamAuth;
}

/**
 * The skeleton every driver binding shares: snapshot the input, refuse a static
 * `password` and the spec's conflicting options, split the IAM options from the
 * driver's, resolve them (errors name the option as the adapter spells it) and decide
 * TLS. Nothing connects and no credential is loaded.
 *
 * @throws RdsIamError naming the option at fault.
 */
export function prepareBinding(given: object, spec: BindingSpec): PreparedBinding {
  const names = spec.names ?? {};
  const input = bindingInput(given, spec.what) as Record<string, unknown>;
  for (const refused of spec.refuse ?? []) refuseOption(input, names, refused);
  refuseOption(input, names, { key: "password", why: "the token is the password. Remove it." });
  const { iam, driver } = splitIamOptions(input);
  const { engine: givenEngine, tokenCache, ...iamOptions } = iam as Record<string, unknown>;
  const engine = engineOf(spec.engine, givenEngine, names.engine ?? "engine");
  const draft = draftIamOptions(iamOptions as Omit<IamAuthOptions, "engine">, names);
  const cache = tokenCacheOption(tokenCache);
  const tls = resolveTls({
    host: draft.host,
    iamHost: draft.iamHost,
    ssl: input.ssl,
    iamAllowPlaintext: input.iamAllowPlaintext as boolean | undefined,
  });
  const { password: _password, ...rest } = driver as Record<string, unknown>;
  const providers = new Map<Engine, IamAuth>();
  const engineFor = (asked: Engine | undefined): Engine => {
    const chosen = asked ?? engine;
    if (chosen === undefined) {
      throw new RdsIamError(
        "MISSING_OPTION",
        `${names.engine ?? "engine"} is required: "postgres" or "mysql".`,
        { option: names.engine ?? "engine" },
      );
    }
    return chosen;
  };
  return Object.freeze({
    engine,
    driver: Object.freeze(rest),
    tls,
    ssl: input.ssl,
    iamAllowPlaintext: input.iamAllowPlaintext === true,
    iamAllowTokenInDebugOutput: input.iamAllowTokenInDebugOutput,
    names,
    clock: draft.clock,
    auth(asked?: Engine): IamAuth {
      const chosen = engineFor(asked);
      let auth = providers.get(chosen);
      if (auth === undefined) {
        auth = iamAuthFor(completeIamOptions(draft, chosen), cache, names);
        providers.set(chosen, auth);
      }
      return auth;
    },
    oneShotAuth(asked?: Engine): IamAuth {
      return iamAuthFor(completeIamOptions(draft, engineFor(asked)), cache, names);
    },
  });
}

function engineOf(
  fromSpec: Engine | undefined,
  given: unknown,
  option: string,
): Engine | undefined {
  if (given === undefined || given === null) return fromSpec;
  const parsed = parseEngine(given, option);
  if (fromSpec !== undefined && parsed !== fromSpec) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `${option} ${describeValue(given)} contradicts this binding, which is for ${fromSpec}. Remove ${option}.`,
      { option },
    );
  }
  return parsed;
}

function refuseOption(
  input: Record<string, unknown>,
  names: BindingNames,
  refused: RefusedOption,
): void {
  const value = input[refused.key];
  if (value === undefined || value === null) return;
  const option =
    refused.key === "connectionString" ? (names.connectionString ?? refused.key) : refused.key;
  const got =
    refused.key === "password"
      ? ` (got ${typeof value === "string" ? "a string" : describeValue(value)})`
      : "";
  throw new RdsIamError(
    "CONFLICTING_OPTIONS",
    `${option} cannot be combined with IAM authentication${got}: ${refused.why}`,
    { option },
  );
}
