/** The first id handed out: 2^30, far above the thread ids a server reaches in practice. */
const FIRST_ID = 0x4000_0000;
const LAST_ID = 0xffff_ffff;

/**
 * Connection ids for MySQL clients. The greeting names the connection id, and it goes
 * out before the session's backend connection exists (that waits for a verified
 * token), so the gateway hands out ids of its own and remembers which backend thread
 * each one stands for: `KILL <id>`, how drivers cancel a query or kill a connection
 * they gave up on, then reaches the right thread. The ids start at 2^30, so that a
 * thread id read from the backend itself (`CONNECTION_ID()`, the process list) is not
 * taken for one of them.
 */
export class MysqlSessionIds {
  #next = FIRST_ID;
  readonly #backendIds = new Map<number, number>();

  /** A fresh id for a client's greeting. */
  allocate(): number {
    let id = this.#next;
    // After 3 billion sessions the ids wrap; skip those still in use.
    while (this.#backendIds.has(id)) id = id >= LAST_ID ? FIRST_ID : id + 1;
    this.#next = id >= LAST_ID ? FIRST_ID : id + 1;
    return id;
  }

  /** Records that the client greeted with `id` is relayed to backend thread `backendId`. */
  bind(id: number, backendId: number): void {
    this.#backendIds.set(id, backendId);
  }

  /** Forgets `id` once its session has ended. */
  release(id: number): void {
    this.#backendIds.delete(id);
  }

  /** The backend thread a live session's id stands for, or undefined. */
  backendIdOf(id: number): number | undefined {
    return this.#backendIds.get(id);
  }
}
