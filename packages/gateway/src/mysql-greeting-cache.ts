import { openMysqlBackend } from "./mysql-backend-login";
import type { Greeting } from "./mysql-packets";

/**
 * The backend's greeting, which the MySQL front mirrors (version, capabilities) before
 * a client has sent anything. It is read once from a probe connection and kept, so
 * that a client which connects and sends nothing costs the backend nothing: a
 * session's own backend connection is opened only after its token is verified, and
 * its greeting refreshes this one.
 */
export class MysqlGreetingCache {
  readonly #backend: { readonly host: string; readonly port: number };
  readonly #timeoutMs: number;
  #greeting: Greeting | undefined;
  #probe: Promise<Greeting> | undefined;

  /**
   * @param backend - the real database
   * @param timeoutMs - how long a probe may take to connect and read the greeting
   */
  constructor(backend: { readonly host: string; readonly port: number }, timeoutMs: number) {
    this.#backend = backend;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * The last greeting seen; the first call probes the backend, and so does the next
   * one after a probe failed. Concurrent callers share one probe.
   */
  get(): Promise<Greeting> {
    if (this.#greeting) return Promise.resolve(this.#greeting);
    this.#probe ??= this.#read().finally(() => {
      this.#probe = undefined;
    });
    return this.#probe;
  }

  /** Keeps the greeting of a backend connection a session opened. */
  update(greeting: Greeting): void {
    this.#greeting = greeting;
  }

  async #read(): Promise<Greeting> {
    const { socket, reader, greeting } = await openMysqlBackend(this.#backend, this.#timeoutMs);
    // Only the greeting was wanted: the server counts an aborted connect, nothing more.
    reader.detach();
    socket.destroy();
    this.#greeting = greeting;
    return greeting;
  }
}
