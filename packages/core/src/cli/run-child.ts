import { spawn } from "node:child_process";
import { constants } from "node:os";

/** Signals a terminal, a supervisor or `kill` sends to stop a job: passed on to the command. */
export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** How the command ended, as a shell reports it. */
export interface ChildResult {
  /** The exit status: the command's own, 128 + n after signal n, 127 / 126 when it could not start. */
  readonly status: number;
  /** Why it could not start (no secret: the command's name and the system's reason). */
  readonly failure?: string;
}

/**
 * Runs `command` with `args` and `env`, on this process's stdin, stdout and stderr,
 * and resolves when it has exited. While it runs, SIGINT, SIGTERM and SIGHUP sent to
 * this process are forwarded to it, and do not stop this process: it waits for the
 * command, so that the caller can clean up and exit with its status.
 *
 * No shell is involved: `args` reach the command as given. The environment is the
 * only channel for secrets (a command line is readable by every local user).
 */
export function runChild(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], { stdio: "inherit", env });
    const forward = (signal: NodeJS.Signals) => {
      // A child that already exited has no pid to signal; ignore the race.
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    let settled = false;
    const done = (result: ChildResult) => {
      if (settled) return;
      settled = true;
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      resolve(result);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      // Only spawn failures arrive here with stdio inherited; the shell's statuses.
      const status = error.code === "ENOENT" ? 127 : 126;
      const reason =
        error.code === "ENOENT"
          ? "not found (is it on PATH?)"
          : error.code === "EACCES"
            ? "not executable (permission denied)"
            : (error.code ?? "failed to start");
      done({ status, failure: `cannot run ${JSON.stringify(command)}: ${reason}` });
    });
    child.once("exit", (code, signal) => {
      if (code !== null) return done({ status: code });
      const number = signal === null ? undefined : constants.signals[signal];
      done({ status: number === undefined ? 1 : 128 + number });
    });
  });
}
