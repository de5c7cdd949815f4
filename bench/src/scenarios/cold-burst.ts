import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { CredentialServer } from "@rds-iam/gateway";
import type { ContenderName } from "../contenders";
import { describeError } from "../describe-error";
import type { summarize } from "../measure";
import type { BenchTarget, Engine } from "../setup";

export interface BurstInput {
  readonly contender: ContenderName;
  readonly target: BenchTarget;
  readonly connections: number;
  readonly sessionLimit: number;
}

export interface BurstChildResult {
  readonly connected: number;
  readonly failed: number;
  readonly errorSamples: readonly string[];
  readonly wallMs: number;
  /** Per attempt, start to first query answered, queueing for a session slot included. */
  readonly attemptMs: ReturnType<typeof summarize>;
  /** Tokens signed in the process (rds-signer). */
  readonly signatures: number;
  /** Core's own counters (ours only). */
  readonly ours?: { readonly mints: number; readonly credentialResolutions: number };
  readonly peakSessions: number;
  /** Non-loopback destinations the network guard refused in the child. */
  readonly networkBlocked: readonly string[];
}

export const RESULT_PREFIX = "BENCH_BURST_RESULT ";

export type BurstContender = Exclude<ContenderName, "static">;
export const BURST_CONTENDERS: readonly BurstContender[] = ["ours", "naive", "wrapper"];

export type BurstContenderResult =
  | (BurstChildResult & {
      /** Requests the loopback credential endpoint answered during this burst. */
      readonly credentialResolutions: number;
    })
  | { readonly error: string };

export interface ColdBurstResult {
  readonly engine: Engine;
  readonly connections: number;
  readonly sessionLimit: number;
  readonly credentialLatencyMs: number;
  readonly contenders: Readonly<Record<BurstContender, BurstContenderResult>>;
}

const CHILD = fileURLToPath(new URL("./cold-burst-child.ts", import.meta.url));
const CHILD_TIMEOUT_MS = 120_000;

function runChild(input: BurstInput): Promise<BurstChildResult> {
  return new Promise((resolve, reject) => {
    // Same node and the same TypeScript loader (tsx) as this process, fresh state.
    const child = spawn(process.execPath, [...process.execArgv, CHILD], {
      env: { ...process.env, BENCH_BURST_INPUT: JSON.stringify(input) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((text) => text.startsWith(RESULT_PREFIX));
      if (code === 0 && line !== undefined) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as BurstChildResult);
      } else {
        const tail = stderr.trim().split("\n").slice(-3).join(" | ");
        reject(new Error(`burst process exited with ${code}: ${tail.slice(0, 300)}`));
      }
    });
  });
}

/**
 * Scenario 2: a cold process opens `connections` new connections at once. Each
 * contender runs in a fresh process; the credential endpoint counts what it is asked,
 * the process counts the signatures. Sessions are bounded by a gate at the socket
 * (see SessionGate), after anything a contender does before opening its socket.
 */
export async function coldBurst(
  target: BenchTarget,
  credentialServer: CredentialServer,
  options: { connections: number; sessionLimit: number; credentialLatencyMs: number },
): Promise<ColdBurstResult> {
  const contenders = {} as Record<BurstContender, BurstContenderResult>;
  for (const contender of BURST_CONTENDERS) {
    const before = credentialServer.stats().requests;
    try {
      const result = await runChild({
        contender,
        target,
        connections: options.connections,
        sessionLimit: options.sessionLimit,
      });
      contenders[contender] = {
        ...result,
        credentialResolutions: credentialServer.stats().requests - before,
      };
    } catch (error) {
      contenders[contender] = { error: describeError(error) };
    }
  }
  return {
    engine: target.engine,
    connections: options.connections,
    sessionLimit: options.sessionLimit,
    credentialLatencyMs: options.credentialLatencyMs,
    contenders,
  };
}
