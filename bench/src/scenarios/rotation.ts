import { type IamAuth, mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import { withMysql2AuthRetry, withPgAuthRetry } from "@rds-iam/core/driver";
import { startCredentialServer } from "@rds-iam/gateway";
import mysqlCallback from "mysql2";
import type mysql from "mysql2/promise";
import pg from "pg";
import type { BenchDatabaseUser } from "../databases";
import { describeError } from "../describe-error";
import { ratio, round, since, summarize } from "../measure";
import { applyEnv, type Engine, startBenchGateway } from "../setup";

export interface RotationResult {
  readonly engine: Engine;
  readonly simulatedMinutes: number;
  readonly stepSeconds: number;
  readonly acquisitionsPerStep: number;
  readonly poolSize: number;
  /** One acquisition in this many destroys its connection, so new ones open all the time. */
  readonly discardEvery: number;
  readonly acquisitions: number;
  readonly newConnections: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly gatewayRejected: Readonly<Record<string, number>>;
  /** Simulated seconds from the start at which a token was re-minted / credentials were issued. */
  readonly tokenRotationsAt: readonly number[];
  readonly credentialRotationsAt: readonly number[];
  readonly auth: ReturnType<IamAuth["stats"]>;
  /** Pool acquisition (real ms) inside rotation windows and elsewhere. */
  readonly rotationMs: ReturnType<typeof summarize>;
  readonly steadyMs: ReturnType<typeof summarize>;
  /**
   * The token step of each new connection (pg `password()` / mysql2 clear-password
   * plugin), real ms, in rotation windows and elsewhere. A connection that had to wait
   * for credentials and a signature would show 20 ms or more here.
   */
  readonly tokenStepMs: {
    readonly rotation: ReturnType<typeof summarize>;
    readonly steady: ReturnType<typeof summarize>;
  };
  readonly p99RotationVsSteady: number;
  readonly medianRotationVsSteady: number;
  /** p99 acquisition per simulated 5 minutes, for the chart. */
  readonly p99PerFiveMinutes: readonly number[];
  readonly realSeconds: number;
}

const WARMUP_STEPS = 50;

type Mysql2ClearPassword = (context: unknown) => (data: Buffer) => Promise<string>;

/** Wraps the driver binding's token step so that each call reports its duration. */
function timeTokenStep(config: Record<string, unknown>, report: (ms: number) => void): void {
  const timed = async (step: () => Promise<string>) => {
    const start = performance.now();
    try {
      return await step();
    } finally {
      report(since(start));
    }
  };
  if (typeof config.password === "function") {
    const password = config.password as () => Promise<string>;
    config.password = () => timed(password);
    return;
  }
  const plugins = config.authPlugins as Record<string, Mysql2ClearPassword>;
  const clear = plugins.mysql_clear_password;
  if (clear === undefined) throw new Error("no token step found in the driver config");
  plugins.mysql_clear_password = (context) => {
    const respond = clear(context);
    return (data) => timed(() => respond(data));
  };
}

interface Lease {
  query(): Promise<void>;
  done(discard: boolean): void;
}

interface BenchPool {
  acquire(): Promise<Lease>;
  readonly newConnections: () => number;
  end(): Promise<void>;
}

function pgPool(config: Record<string, unknown>, auth: IamAuth, size: number): BenchPool {
  const IamPool = withPgAuthRetry(pg.Pool, auth);
  const pool = new IamPool({ ...config, max: size } as pg.PoolConfig);
  let opened = 0;
  pool.on("connect", () => {
    opened++;
  });
  pool.on("error", () => {});
  return {
    async acquire() {
      const client = await pool.connect();
      return {
        async query() {
          await client.query("SELECT 1");
        },
        done: (discard) => client.release(discard),
      };
    },
    newConnections: () => opened,
    end: () => pool.end(),
  };
}

function mysqlPool(config: Record<string, unknown>, auth: IamAuth, size: number): BenchPool {
  const core = withMysql2AuthRetry(
    mysqlCallback.createPool({ ...config, connectionLimit: size } as mysql.PoolOptions),
    auth,
  );
  const pool = core.promise();
  let opened = 0;
  core.on("connection", () => {
    opened++;
  });
  return {
    async acquire() {
      const connection = await pool.getConnection();
      return {
        async query() {
          await connection.query("SELECT 1");
        },
        done: (discard) => (discard ? connection.destroy() : connection.release()),
      };
    },
    newConnections: () => opened,
    end: () => pool.end(),
  };
}

/**
 * Scenario 4: a pool under a steady query load for a simulated hour. One fake clock
 * drives core (`clock`), the gateway (`now`) and the credential endpoint (`clock`):
 * tokens are re-minted every ~14 minutes of simulated time and the temporary
 * credentials rotate once, while connections keep being replaced. Acquisition latency
 * is real time; "rotation windows" run from 10 s before each re-mint or credential
 * issue to 40 s after it (the old token's hand-out deadline falls 30 s after its
 * re-mint), everything else is steady state.
 */
export async function rotation(
  dbUser: BenchDatabaseUser,
  options: {
    simulatedMinutes: number;
    stepSeconds: number;
    acquisitionsPerStep: number;
    poolSize: number;
    discardEvery: number;
    credentialLatencyMs: number;
  },
): Promise<RotationResult> {
  const engine = dbUser.engine;
  let now = Date.now();
  const clock = () => now;
  const t0 = now;
  const credentials = await startCredentialServer({
    clock,
    latencyMs: options.credentialLatencyMs,
  });
  const { gateway, target } = await startBenchGateway(
    dbUser,
    () =>
      credentials.issued().map((issued) => ({
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        expiration: new Date(issued.expiration),
      })),
    clock,
  );
  // This scenario's credentials come from its own (fake-clock) endpoint, through the
  // same default provider chain.
  const restoreEnv = applyEnv(credentials.env());
  const input = {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    iamHost: target.iamHost,
    iamDefaultPort: target.iamDefaultPort,
    iamRegion: target.region,
    ssl: { ca: target.ca },
    clock,
  };
  const built = engine === "postgres" ? pgIamConfig(input) : mysql2IamConfig(input);
  // Time the token step inside each new connection (the driver calls it once per
  // connection): the direct measure of whether a connection ever waited for a mint.
  const tokenWaits: Array<{ at: number; ms: number }> = [];
  let currentAt = 0;
  timeTokenStep(built.config, (ms) => tokenWaits.push({ at: currentAt, ms }));
  const auth = built.auth;
  const pool =
    engine === "postgres"
      ? pgPool(built.config, auth, options.poolSize)
      : mysqlPool(built.config, auth, options.poolSize);

  const samples: Array<{ at: number; ms: number }> = [];
  const errors: string[] = [];
  const tokenRotationsAt: number[] = [];
  const credentialRotationsAt: number[] = [];
  let acquisitions = 0;
  let openedBeforeMeasuring = 0;
  const realStart = performance.now();
  const steps = Math.round((options.simulatedMinutes * 60) / options.stepSeconds);

  let uses = 0;
  const acquireOnce = async (at: number, record = true) => {
    if (record) acquisitions++;
    const index = uses++;
    const start = performance.now();
    try {
      const lease = await pool.acquire();
      if (record) samples.push({ at, ms: since(start) });
      try {
        await lease.query();
        lease.done(index % options.discardEvery === options.discardEvery - 1);
      } catch (error) {
        lease.done(true);
        throw error;
      }
    } catch (error) {
      errors.push(describeError(error));
    }
  };

  try {
    // Warm up (pool, cache, JIT) with the same churn at the start time, unrecorded: a
    // cold start is scenario 2's subject, not this one's.
    for (let wave = 0; wave < WARMUP_STEPS; wave++) {
      await Promise.all(
        Array.from({ length: options.acquisitionsPerStep }, () => acquireOnce(0, false)),
      );
    }
    openedBeforeMeasuring = pool.newConnections();
    for (let step = 0; step < steps; step++) {
      now += options.stepSeconds * 1000;
      const at = (now - t0) / 1000;
      currentAt = at;
      const mintsBefore = auth.stats().mints;
      const issuedBefore = credentials.stats().issued;
      await Promise.all(Array.from({ length: options.acquisitionsPerStep }, () => acquireOnce(at)));
      // A background re-mint started during this step may finish a moment later.
      if (auth.stats().mints > mintsBefore) tokenRotationsAt.push(at);
      if (credentials.stats().issued > issuedBefore) credentialRotationsAt.push(at);
    }
    // Let an in-flight refresh land before reading the counters.
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await pool.end().catch(() => {});
    auth.close();
    restoreEnv();
    await gateway.close();
    await credentials.close();
  }

  const events = [...tokenRotationsAt, ...credentialRotationsAt];
  const inWindow = (at: number) => events.some((event) => at >= event - 10 && at <= event + 40);
  const rotationMs = summarize(samples.filter((s) => inWindow(s.at)).map((s) => s.ms));
  const steadyMs = summarize(samples.filter((s) => !inWindow(s.at)).map((s) => s.ms));
  const measured = tokenWaits.filter((wait) => wait.at > 0);
  const tokenStepMs = {
    rotation: summarize(measured.filter((w) => inWindow(w.at)).map((w) => w.ms)),
    steady: summarize(measured.filter((w) => !inWindow(w.at)).map((w) => w.ms)),
  };
  const buckets = Math.ceil(options.simulatedMinutes / 5);
  const p99PerFiveMinutes = Array.from({ length: buckets }, (_, bucket) =>
    round(
      summarize(
        samples.filter((s) => s.at > bucket * 300 && s.at <= (bucket + 1) * 300).map((s) => s.ms),
      ).p99,
    ),
  );
  return {
    engine,
    simulatedMinutes: options.simulatedMinutes,
    stepSeconds: options.stepSeconds,
    acquisitionsPerStep: options.acquisitionsPerStep,
    poolSize: options.poolSize,
    discardEvery: options.discardEvery,
    acquisitions,
    newConnections: pool.newConnections() - openedBeforeMeasuring,
    errors: errors.length,
    errorSamples: [...new Set(errors)].slice(0, 3),
    gatewayRejected: gateway.stats().rejected as Record<string, number>,
    tokenRotationsAt,
    credentialRotationsAt,
    auth: auth.stats(),
    rotationMs,
    steadyMs,
    tokenStepMs,
    p99RotationVsSteady: round(ratio(rotationMs.p99, steadyMs.p99)),
    medianRotationVsSteady: round(ratio(rotationMs.median, steadyMs.median)),
    p99PerFiveMinutes,
    realSeconds: round(since(realStart) / 1000, 1),
  };
}
