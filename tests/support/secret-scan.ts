/**
 * Secret hygiene for the whole test suite.
 *
 * Loaded as a Vitest setup file (see vitest.config.ts), it records everything the
 * tests' process prints (every console method, raw stdout/stderr writes, process
 * warnings) and, after each test file, fails that file if any of it holds IAM token
 * or secret-key material. Tests add to the record what they inspect and stringify
 * (`observe`) and register the secrets they know about (`registerSecret`,
 * `trackTokens`) so that even a fragment of one is caught.
 *
 * State lives on `globalThis` so that the setup file and the tests share it even if
 * the module were evaluated twice.
 */
import { inspect } from "node:util";
import { afterAll } from "vitest";

/** One captured piece of output. */
export interface Captured {
  /** Where it came from: `console.warn`, `stderr`, `warning`, `observe:<label>`, ... */
  readonly source: string;
  readonly text: string;
}

/** A finding: never carries the secret itself, only a redacted excerpt. */
export interface Leak {
  readonly source: string;
  /** Which rule matched: `token-signature`, `session-token`, `registered-secret`, `secret-key-shape`. */
  readonly rule: string;
  /** The surrounding text with the matched material replaced by `[REDACTED]`. */
  readonly excerpt: string;
}

export interface ScanOptions {
  /**
   * Also flag any 40-character AWS-secret-key-shaped string (mixed-case base64 with
   * digits). Off for the suite-wide check, where other output could look like one;
   * on in the reliability suite, where every secret is a test's own. Default false.
   */
  readonly secretKeyShape?: boolean;
}

interface ScanState {
  installed: boolean;
  captured: Captured[];
  /** Every registered secret, and its URL-encoded form. */
  secrets: Set<string>;
  /** Every WINDOW-character slice of every registered secret, to catch fragments. */
  windows: Set<string>;
  warnings: Error[];
  unhandled: unknown[];
  /** While true, output is recorded but not passed on (the scanner's planted leaks). */
  silenced: boolean;
}

const STATE_KEY = Symbol.for("@rds-iam/tests.secret-scan");
/** A fragment this long of a registered secret counts as a leak (20 hex chars = 80 random bits). */
const WINDOW = 20;

function state(): ScanState {
  const holder = globalThis as unknown as Record<symbol, ScanState | undefined>;
  let current = holder[STATE_KEY];
  if (current === undefined) {
    current = {
      installed: false,
      captured: [],
      secrets: new Set(),
      windows: new Set(),
      warnings: [],
      unhandled: [],
      silenced: false,
    };
    holder[STATE_KEY] = current;
  }
  return current;
}

/** Token material, whatever else is around it (a URL, a JSON string, a log line). */
const TOKEN_RULES: readonly { rule: string; pattern: RegExp }[] = [
  // The signature is what makes a token usable; also found URL-encoded inside database URLs.
  { rule: "token-signature", pattern: /X-Amz-Signature(?:=|%3D|%253D)[0-9a-f]{64}/gi },
  // Session tokens of temporary credentials ride inside IAM tokens.
  { rule: "session-token", pattern: /X-Amz-Security-Token(?:=|%3D|%253D)[^&\s"'`]{16,}/gi },
];

/** Certificates: long base64 too, but public. */
const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g;
/** An AWS secret access key: 40 base64 characters (mixing cases and digits, checked apart). */
const SECRET_KEY_SHAPE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;

/** Adds text to the record. */
export function record(source: string, text: string): void {
  state().captured.push({ source, text });
}

/**
 * Registers values that must never appear in output: secret access keys, session
 * tokens, IAM tokens (their signature is registered separately, so a token that is
 * re-encoded is caught too). Empty and short values are ignored.
 */
export function registerSecret(...values: readonly (string | undefined | null)[]): void {
  const current = state();
  const add = (form: string, fragments: boolean) => {
    if (current.secrets.has(form)) return;
    current.secrets.add(form);
    if (!fragments) return;
    for (let i = 0; i + WINDOW <= form.length; i++) current.windows.add(form.slice(i, i + WINDOW));
  };
  for (const value of values) {
    if (typeof value !== "string" || value.length < WINDOW) continue;
    const signature = /X-Amz-Signature=([0-9a-f]{64})/i.exec(value)?.[1];
    if (signature === undefined) {
      // A key or session token: all of it is secret, so any long fragment is a leak.
      add(value, true);
      add(encodeURIComponent(value), true);
      continue;
    }
    // An IAM token: its host, user and access key id are public; the signature and
    // the session token are what make it usable, so fragments of those count.
    add(value, false);
    add(encodeURIComponent(value), false);
    add(signature, true);
    const sessionToken = /X-Amz-Security-Token=([^&]+)/.exec(value)?.[1];
    if (sessionToken !== undefined) add(decodeURIComponent(sessionToken), true);
  }
}

/** Registers the secret parts of a credential set (the access key id is not secret). */
export function registerCredentials(credentials: {
  readonly secretAccessKey?: string | undefined;
  readonly sessionToken?: string | undefined;
}): void {
  registerSecret(credentials.secretAccessKey, credentials.sessionToken);
}

/** The part of an IamAuth that hands out tokens. */
interface TokenSource {
  getToken(): Promise<string>;
  getTokenWithExpiry?(): Promise<{ readonly token: string; readonly expiresAt: number }>;
}

/**
 * Registers every token `auth` hands out from now on, including the ones drivers ask
 * for deep inside a pool, so the scan knows each one. Returns `auth`.
 */
export function trackTokens<T extends TokenSource>(auth: T): T {
  const getToken = auth.getToken.bind(auth);
  // Own properties shadow the class methods; driver bindings call through `auth`.
  Object.defineProperty(auth, "getToken", {
    configurable: true,
    value: () =>
      getToken().then((token) => {
        registerSecret(token);
        return token;
      }),
  });
  if (typeof auth.getTokenWithExpiry === "function") {
    const withExpiry = auth.getTokenWithExpiry.bind(auth);
    Object.defineProperty(auth, "getTokenWithExpiry", {
      configurable: true,
      value: () =>
        withExpiry().then((result) => {
          registerSecret(result.token);
          return result;
        }),
    });
  }
  return auth;
}

/**
 * Everything a user could print about `value`: `util.inspect` (deep, with hidden
 * properties), `JSON.stringify`, `String()`, and for errors the message and stack of
 * each error in the `cause` chain. Records it all under `label` and returns it.
 */
export function observe(label: string, value: unknown): string {
  const parts: string[] = [];
  const attempt = (what: string, make: () => string | undefined) => {
    try {
      const text = make();
      if (text !== undefined) parts.push(text);
    } catch (error) {
      // A value that refuses to serialize (e.g. a circular config) prints nothing.
      parts.push(`[${what} threw ${(error as Error)?.name}]`);
    }
  };
  attempt("inspect", () => inspect(value, { depth: 8, showHidden: true, getters: true }));
  attempt("JSON.stringify", () => JSON.stringify(value));
  attempt("String", () => String(value));
  let current: unknown = value;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const error: Error = current;
    parts.push(error.message, error.stack ?? "");
    current = error.cause;
  }
  const text = parts.join("\n");
  record(`observe:${label}`, text);
  return text;
}

/** Finds token and secret material in `captured` (default: everything recorded so far). */
export function findLeaks(
  captured: readonly Captured[] = state().captured,
  options: ScanOptions = {},
): Leak[] {
  const leaks: Leak[] = [];
  for (const { source, text } of captured) {
    const spans = leakSpans(text, options);
    if (spans.length === 0) continue;
    // Excerpts come from a copy with every span redacted, so the context around one
    // finding can never show another.
    const { redacted, positions } = redact(text, spans);
    spans.forEach((span, i) => {
      leaks.push({ source, rule: span.rule, excerpt: context(redacted, positions[i] ?? 0) });
    });
  }
  return leaks;
}

interface Span {
  readonly start: number;
  readonly end: number;
  readonly rule: string;
}

function leakSpans(text: string, options: ScanOptions): Span[] {
  const { secrets, windows } = state();
  const spans: Span[] = [];
  for (const { rule, pattern } of TOKEN_RULES) {
    for (const match of text.matchAll(pattern)) {
      spans.push({ start: match.index, end: match.index + match[0].length, rule });
    }
  }
  if (windows.size > 0) {
    for (let i = 0; i + WINDOW <= text.length; i++) {
      if (!windows.has(text.slice(i, i + WINDOW))) continue;
      // Extend over the whole run of secret characters, so none is left beside the cut.
      let end = i + WINDOW;
      while (end < text.length && windows.has(text.slice(end - WINDOW + 1, end + 1))) end++;
      spans.push({ start: i, end, rule: "registered-secret" });
      i = end - 1;
    }
  }
  if (options.secretKeyShape === true) {
    // Certificates are long base64 too, and public: skip PEM blocks.
    const pems = [...text.matchAll(PEM_BLOCK)].map((m) => [m.index, m.index + m[0].length]);
    for (const match of text.matchAll(SECRET_KEY_SHAPE)) {
      if (pems.some(([from = 0, to = 0]) => match.index >= from && match.index < to)) continue;
      const candidate = match[0];
      const mixed = /[a-z]/.test(candidate) && /[A-Z]/.test(candidate) && /[0-9]/.test(candidate);
      if (mixed && (secrets.has(candidate) || !looksLikeIdentifier(candidate))) {
        spans.push({
          start: match.index,
          end: match.index + candidate.length,
          rule: "secret-key-shape",
        });
      }
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

/** `text` with every span replaced by `[REDACTED]`, and where each span landed. */
function redact(text: string, spans: readonly Span[]): { redacted: string; positions: number[] } {
  let redacted = "";
  let cursor = 0;
  const positions: number[] = [];
  for (const span of spans) {
    if (span.start >= cursor) {
      redacted += text.slice(cursor, span.start);
      positions.push(redacted.length);
      redacted += MARK;
      cursor = span.end;
    } else {
      // Overlaps the previous span: same redaction, extended if it reaches further.
      positions.push(redacted.length - MARK.length);
      cursor = Math.max(cursor, span.end);
    }
  }
  return { redacted: redacted + text.slice(cursor), positions };
}

const MARK = "[REDACTED]";

// Words, paths and camelCase identifiers are not keys: a random key rarely has a run of
// eight lower-case letters (about 2% of keys do; registered keys are caught anyway).
function looksLikeIdentifier(candidate: string): boolean {
  return /[a-z]{8,}/.test(candidate);
}

function context(redacted: string, index: number): string {
  const start = Math.max(0, index - 40);
  const end = Math.min(redacted.length, index + MARK.length + 40);
  return redacted.slice(start, end).replace(/\s+/g, " ");
}

/** Throws (with redacted excerpts only) if anything recorded holds a secret. */
export function assertNoLeaks(options: ScanOptions = {}): void {
  const leaks = findLeaks(state().captured, options);
  if (leaks.length === 0) return;
  const lines = leaks
    .slice(0, 10)
    .map((leak) => `- ${leak.rule} in ${leak.source}: ${leak.excerpt}`)
    .join("\n");
  throw new Error(
    `Secret hygiene: ${leaks.length} leak(s) of token or secret-key material in test output:\n${lines}`,
  );
}

/** What has been recorded so far (copies). */
export function captured(): readonly Captured[] {
  return [...state().captured];
}

/** Removes recorded entries, e.g. a leak planted on purpose by the scanner's self-test. */
export function forget(predicate: (entry: Captured) => boolean): number {
  const current = state();
  const before = current.captured.length;
  current.captured = current.captured.filter((entry) => !predicate(entry));
  return before - current.captured.length;
}

/** Process warnings seen so far (e.g. `MaxListenersExceededWarning`). */
export function warnings(): readonly Error[] {
  return [...state().warnings];
}

/** Unhandled promise rejections seen so far. */
export function unhandledRejections(): readonly unknown[] {
  return [...state().unhandled];
}

const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug", "trace", "dir"] as const;

/**
 * Runs `fn` with the process's output recorded but not printed, until the next turn of
 * the event loop after it (Node prints process warnings a tick later). For the
 * scanner's self-test, whose planted tokens must never reach a real log, not even a
 * test log.
 */
export async function silenced<T>(fn: () => T | Promise<T>): Promise<T> {
  const current = state();
  current.silenced = true;
  try {
    const result = await fn();
    await new Promise((resolve) => setTimeout(resolve, 10));
    return result;
  } finally {
    current.silenced = false;
  }
}

/**
 * Starts recording the process's output. Idempotent. Registers, per test file, a
 * final check that nothing recorded holds token material or a registered secret.
 */
export function installSecretScan(): void {
  const current = state();
  if (current.installed) return;
  current.installed = true;

  for (const method of CONSOLE_METHODS) {
    const original = console[method].bind(console) as (...args: unknown[]) => void;
    (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      record(`console.${method}`, args.map((arg) => inspectForLog(arg)).join(" "));
      if (!current.silenced) original(...args);
    };
  }
  for (const name of ["stdout", "stderr"] as const) {
    const stream = process[name];
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      record(name, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString());
      if (current.silenced) return true;
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  process.on("warning", (warning) => {
    current.warnings.push(warning);
    record("warning", `${warning.name}: ${warning.message}\n${warning.stack ?? ""}`);
  });
  process.on("unhandledRejection", (reason) => {
    current.unhandled.push(reason);
    record("unhandledRejection", inspectForLog(reason));
  });
}

function inspectForLog(value: unknown): string {
  return typeof value === "string" ? value : inspect(value, { depth: 6 });
}

// As a setup file: record from the first line of every test file, check after its last test.
installSecretScan();
afterAll(() => {
  assertNoLeaks();
});
