import { CONTENDER_LABELS, type ContenderName } from "./contenders";
import { round, type Summary } from "./measure";
import { type BenchResults, headlines } from "./results";
import { OPEN_CONTENDERS } from "./scenarios/open-latency";
import { PACKAGE_LABELS } from "./scenarios/package-open";
import { VARIANT_LABELS } from "./scenarios/shared-credentials";
import { ENGINE_LABELS } from "./setup";

function num(value: number, digits = 2): string {
  return Number.isFinite(value) ? String(round(value, digits)) : "n/a";
}

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function msPair(summary: Summary): [string, string] {
  return [num(summary.median), num(summary.p99)];
}

function machine(results: BenchResults): string {
  const m = results.machine;
  return table(
    ["", ""],
    [
      ["CPU", `${m.cpu} (${m.cores} cores)`],
      ["Memory", `${m.memoryGiB} GiB`],
      ["OS", m.os],
      ["Node", m.node],
      ...Object.entries(m.databases).map(([, version]) => ["Database", version]),
      ...Object.entries(m.packages).map(([name, version]) => [name, version]),
      ["Command", `\`${m.command}\``],
      ["Invoked as", `\`${m.invocation}\``],
      ["Started", m.startedAt],
      ["Total run time", `${results.totalSeconds} s`],
    ],
  );
}

function warmToken(results: BenchResults): string {
  return table(
    [
      "Engine",
      "cached getToken() median (ns)",
      "p99 (ns)",
      "fresh signature median (µs)",
      "p99 (µs)",
      "speed-up",
    ],
    results.warmToken.map((warm) => [
      ENGINE_LABELS[warm.engine],
      num(warm.cachedNs.median, 0),
      num(warm.cachedNs.p99, 0),
      num(warm.freshSignatureNs.median / 1000, 1),
      num(warm.freshSignatureNs.p99 / 1000, 1),
      `${num(warm.speedup, 0)}x`,
    ]),
  );
}

function coldBurst(results: BenchResults): string {
  const rows: string[][] = [];
  for (const burst of results.coldBurst) {
    for (const [name, outcome] of Object.entries(burst.contenders)) {
      const label = CONTENDER_LABELS[name as ContenderName];
      if ("error" in outcome) {
        rows.push([
          ENGINE_LABELS[burst.engine],
          label,
          `errored: ${outcome.error}`,
          "",
          "",
          "",
          "",
        ]);
        continue;
      }
      rows.push([
        ENGINE_LABELS[burst.engine],
        label,
        `${outcome.connected}/${burst.connections}`,
        String(outcome.credentialResolutions),
        String(outcome.signatures),
        num(outcome.wallMs / 1000),
        `${num(outcome.attemptMs.median, 0)} / ${num(outcome.attemptMs.p99, 0)}`,
      ]);
    }
  }
  const notes = results.coldBurst
    .flatMap((burst) =>
      Object.entries(burst.contenders).flatMap(([name, outcome]) =>
        "errorSamples" in outcome && outcome.errorSamples.length > 0
          ? [
              `- ${ENGINE_LABELS[burst.engine]}, ${CONTENDER_LABELS[name as ContenderName]}: ${outcome.failed} failed, e.g. \`${outcome.errorSamples.join("`, `")}\``,
            ]
          : [],
      ),
    )
    .join("\n");
  return [
    table(
      [
        "Engine",
        "Contender",
        "connected",
        "credential resolutions",
        "signatures",
        "wall (s)",
        "per attempt median / p99 (ms)",
      ],
      rows,
    ),
    notes,
  ]
    .filter(Boolean)
    .join("\n\n");
}

function openLatency(results: BenchResults): string {
  const rows: string[][] = [];
  const charts: string[] = [];
  for (const open of results.openLatency) {
    for (const name of OPEN_CONTENDERS) {
      rows.push([
        ENGINE_LABELS[open.engine],
        CONTENDER_LABELS[name],
        ...msPair(open.openMs[name]),
        `${num(open.vsStatic[name].median, 3)}`,
        `${num(open.vsStatic[name].p99, 3)}`,
        String(open.failures[name]),
      ]);
    }
    charts.push(
      [
        "```mermaid",
        "xychart-beta",
        `  title "Connection open, median ms, ${ENGINE_LABELS[open.engine]}"`,
        `  x-axis [${OPEN_CONTENDERS.map((name) => `"${CONTENDER_LABELS[name]}"`).join(", ")}]`,
        `  y-axis "ms"`,
        `  bar [${OPEN_CONTENDERS.map((name) => num(open.openMs[name].median)).join(", ")}]`,
        "```",
      ].join("\n"),
    );
  }
  return [
    table(
      [
        "Engine",
        "Contender",
        "median (ms)",
        "p99 (ms)",
        "median / static",
        "p99 / static",
        "failures",
      ],
      rows,
    ),
    ...charts,
  ].join("\n\n");
}

function rotation(results: BenchResults): string {
  const rows = results.rotation.map((pool) => [
    ENGINE_LABELS[pool.engine],
    String(pool.acquisitions),
    String(pool.newConnections),
    String(pool.tokenRotationsAt.length),
    String(pool.credentialRotationsAt.length),
    String(pool.errors),
    String(Object.values(pool.gatewayRejected).reduce((sum, count) => sum + count, 0)),
    `${num(pool.steadyMs.median)} / ${num(pool.steadyMs.p99)}`,
    `${num(pool.rotationMs.median)} / ${num(pool.rotationMs.p99)} (n=${pool.rotationMs.count})`,
    num(pool.p99RotationVsSteady, 3),
    `${num(pool.tokenStepMs.steady.p99, 3)} / ${num(pool.tokenStepMs.steady.max, 3)}`,
    `${num(pool.tokenStepMs.rotation.p99, 3)} / ${num(pool.tokenStepMs.rotation.max, 3)} (n=${pool.tokenStepMs.rotation.count})`,
    String(pool.auth.mints - pool.auth.refreshesAhead),
  ]);
  const first = results.rotation[0];
  const chart =
    first === undefined
      ? ""
      : [
          "```mermaid",
          "xychart-beta",
          `  title "Pool acquisition p99 (ms) per 5 simulated minutes"`,
          `  x-axis "simulated minute" [${first.p99PerFiveMinutes.map((_, i) => (i + 1) * 5).join(", ")}]`,
          `  y-axis "ms"`,
          ...results.rotation.map((pool) => `  line [${pool.p99PerFiveMinutes.join(", ")}]`),
          "```",
          "",
          `Lines, in order: ${results.rotation.map((pool) => ENGINE_LABELS[pool.engine]).join(", ")}. Token re-mints at simulated seconds: ${results.rotation.map((pool) => `${ENGINE_LABELS[pool.engine]} ${pool.tokenRotationsAt.join(", ")}`).join("; ")}; credential rotations: ${results.rotation.map((pool) => `${ENGINE_LABELS[pool.engine]} ${pool.credentialRotationsAt.join(", ") || "none"}`).join("; ")}.`,
        ].join("\n");
  return [
    table(
      [
        "Engine",
        "acquisitions",
        "new connections",
        "token re-mints",
        "credential rotations",
        "errors",
        "gateway rejections",
        "steady median / p99 (ms)",
        "rotation median / p99 (ms)",
        "p99 rotation / steady",
        "token step steady p99 / max (ms)",
        "token step rotation p99 / max (ms)",
        "mints a caller waited for",
      ],
      rows,
    ),
    chart,
  ]
    .filter(Boolean)
    .join("\n\n");
}

function memory(results: BenchResults): string {
  return table(
    [
      "Engine",
      "requests",
      "users",
      "mints",
      "heap after warm-up / half / end (MiB)",
      "second half (MiB)",
      "per 1,000 requests (KiB)",
      "cache entries / bound",
    ],
    results.memory.map((heap) => [
      ENGINE_LABELS[heap.engine],
      String(heap.requests),
      String(heap.users),
      String(heap.mints),
      `${num(heap.heapMiB.warm)} / ${num(heap.heapMiB.half)} / ${num(heap.heapMiB.end)}`,
      num(heap.growthSecondHalfMiB),
      num(heap.growthPerThousandKiB),
      `${heap.cacheEntries} / ${heap.cacheMaxEntries}`,
    ]),
  );
}

function sharedCredentials(results: BenchResults): string {
  const rows: string[][] = [];
  for (const shared of results.sharedCredentials) {
    for (const run of shared.variants) {
      for (const [label, counts] of [
        ["@rds-iam/core (50 objects, 4 adapters)", run.ours],
        ["naive Signer per connection", run.naive],
      ] as const) {
        const refused = Object.values(counts.refused).reduce((sum, count) => sum + count, 0);
        rows.push([
          VARIANT_LABELS[run.variant],
          label,
          String(counts.tokenRequests),
          String(counts.credentialRequests),
          String(counts.credentialSetsIssued),
          String(counts.signatures),
          `${counts.firstMinute.credentialRequests} / ${counts.firstMinute.signatures}`,
          counts.providerCalls === undefined ? "" : String(counts.providerCalls),
          counts.distinctTokens === undefined ? "" : String(counts.distinctTokens),
          refused === 0 ? "0" : `${refused} (${JSON.stringify(counts.refused)})`,
          String(counts.errors),
          num(counts.realSeconds, 1),
        ]);
      }
      rows.push([
        VARIANT_LABELS[run.variant],
        "**naive / ours**",
        "",
        `**${num(run.ratios.credentialRequests, 1)}x**`,
        "",
        `**${num(run.ratios.signatures, 1)}x**`,
        `${num(run.ratios.firstMinuteCredentialRequests, 1)}x credential requests`,
        "",
        "",
        "",
        "",
        "",
      ]);
    }
  }
  return table(
    [
      "Credentials",
      "Contender",
      "token requests",
      "credential requests",
      "credential sets issued",
      "signatures (tokens minted)",
      "first minute: credential requests / signatures",
      "provider calls (ours)",
      "distinct tokens (ours)",
      "tokens RDS would refuse",
      "errors",
      "real time (s)",
    ],
    rows,
  );
}

function packageOpen(results: BenchResults): string {
  return table(
    [
      "Package",
      "ours median (ms)",
      "ours p99 (ms)",
      "static median (ms)",
      "static p99 (ms)",
      "median / static",
      "p99 / static",
      "failures (ours / static)",
    ],
    results.packageOpen.map((open) => [
      PACKAGE_LABELS[open.driver],
      ...msPair(open.openMs.ours),
      ...msPair(open.openMs.static),
      num(open.vsStatic.median, 3),
      num(open.vsStatic.p99, 3),
      `${open.failures.ours} / ${open.failures.static}`,
    ]),
  );
}

/** results/latest.md: the tables the README links to. */
export function renderMarkdown(results: BenchResults): string {
  const burst = results.coldBurst[0];
  const open = results.openLatency[0];
  const pool = results.rotation[0];
  const shared = results.sharedCredentials[0];
  const sections = [
    "# rds-iam benchmark results",
    `Measured in one run on one machine by \`${results.machine.command}\`, through the local RDS gateway (\`@rds-iam/gateway\`, TLS for every contender) in front of the machine's real PostgreSQL and MariaDB. Method: [../README.md](../README.md). Raw numbers: [latest.json](latest.json). Nothing here is asserted; the ratios are the result.`,
    "## Machine",
    machine(results),
    "## Ratios",
    headlines(results)
      .map((line) => `- ${line}`)
      .join("\n"),
    "## 1. Token on the connect path, warm",
    "Nanoseconds per `getToken()` answered from the cache (batches of 1,000 awaited calls, 250 batches after 50 warm-up batches; per-call time = batch time / 1,000) vs a fresh `new Signer().getAuthToken()` per call with static credentials (2,000 calls after 1,000 warm-up calls). No I/O in either: this is the CPU cost a connection pays on the connect path once warm.",
    warmToken(results),
    "## 2. Cold burst",
    burst === undefined
      ? "Did not run."
      : `${burst.connections} connection attempts start at once in a fresh process per contender (nothing cached). Credentials come from a loopback container-credentials endpoint answering after ${burst.credentialLatencyMs} ms, through the AWS SDK's default provider chain; its request count is "credential resolutions". "Signatures" counts \`@aws-sdk/rds-signer\` \`getAuthToken()\` calls in the process. PostgreSQL here allows 100 sessions, so a gate holds each attempt's socket until fewer than ${burst.sessionLimit} sessions are open: the naive recipe and the wrapper sign before they open a socket, so all ${burst.connections} of their token requests are in flight at once; ours asks for its token when the server asks for the password, i.e. behind the gate, where single flight and the cache answer it either way. Per-attempt time includes waiting for the gate.`,
    coldBurst(results),
    "## 3. Connection open latency",
    open === undefined
      ? "Did not run."
      : `Milliseconds from creating a client to \`connect()\` resolving, ${open.samplesPerContender} connections per contender one at a time after ${open.warmupPerContender} warm-up connections each, contenders interleaved in rotating order. "Static password" sends a token minted once as a plain string: the floor for any IAM approach on the same gateway, TLS and driver. The naive recipe resolves credentials (the ${results.coldBurst[0]?.credentialLatencyMs ?? 20} ms endpoint) and signs on every connection; the wrapper signs once and caches, but runs its plugin pipeline on every connect.`,
    openLatency(results),
    "## 4. Pool under token rotation",
    pool === undefined
      ? "Did not run."
      : `A pool of ${pool.poolSize} under ${pool.acquisitionsPerStep} concurrent acquire/\`SELECT 1\`/release per step for ${pool.simulatedMinutes} simulated minutes, the clock shared by core (\`clock\`), the gateway (\`now\`) and the credential endpoint moving ${pool.stepSeconds} s per step. Every ${pool.discardEvery}th acquisition destroys its connection, so new connections (each needing a current token) open continuously. Credentials are 1-hour temporary ones from the endpoint (${results.coldBurst[0]?.credentialLatencyMs ?? 20} ms latency), renewed 15 minutes before expiry. Rotation windows: from 10 s before each token re-mint or credential issue to 40 s after it; steady: everything else. Latencies are real time. The token-step columns time each new connection's call into core (pg \`password()\`, mysql2 \`mysql_clear_password\` plugin): a connection that had to wait for credentials (the ${results.coldBurst[0]?.credentialLatencyMs ?? 20} ms endpoint) and a signature would show 20 ms or more there. "Mints a caller waited for" counts mints not started ahead of need (the pool's very first token included).`,
    rotation(results),
    "## 5. Memory",
    "Heap used (after forced GC) across 100,000 `getToken()` calls, 100 at a time, over 1,000 users sharing one `TokenCache` (default bound 1,000), after 10,000 warm-up calls. A fake clock moves 1 s per 100 calls, so every token is re-minted once during the measured part.",
    memory(results),
    "## 6. Shared credentials across ORM objects",
    shared === undefined
      ? "Did not run."
      : `${shared.objects} ORM objects in one process (ours: ${Object.entries(shared.oursMix)
          .map(([entry, count]) => `${count} x ${entry}`)
          .join(
            ", ",
          )}), the same endpoint and user, each opening a new physical connection (asking for a token) every ${shared.connectEveryMinutes === 1 ? "" : `${shared.connectEveryMinutes} `}simulated minute${shared.connectEveryMinutes === 1 ? "" : "s"} for ${shared.simulatedMinutes / 60} simulated hours, all ${shared.objects} at once each minute. No database: the counts are the result. One fake clock per run drives core (\`clock\`) and a loopback credential endpoint (${shared.credentialLifetimeMinutes}-minute sets, renewed when less than ${shared.endpointRenewsBeforeMinutes} minutes are left, ${shared.credentialLatencyMs} ms per answer); "credential requests" are the requests it answered. Ours' signatures are the providers' \`stats().mints\` (with a \`clock\`, core signs at clock time itself; \`Signer#getAuthToken\` calls stayed 0), cross-checked by the distinct tokens handed out; the naive recipe's are its \`Signer#getAuthToken\` calls. Every token handed out was checked with the gateway's verifier (ours at clock time, the naive recipe's at real time). *Shared credentials function*: one \`credentials\` function for all of ours, memoized like the SDK's temporary credentials on the fake clock (fetched again within 5 minutes of expiry or on \`forceRefresh\`); the naive recipe gets one such function per ORM object. *Real default chain*: no \`credentials\` option, \`fromNodeProviderChain\` reaching the endpoint through \`AWS_CONTAINER_CREDENTIALS_FULL_URI\` in an isolated environment; the naive recipe's \`new Signer()\` builds a chain per connection. The SDK memoizes the chain by real time, in which the run lasts seconds, so its own refresh never fires here: ours' later requests are core's \`forceRefresh\` when the credentials (by the fake clock) have too little left for a token. For the naive recipe with one function per object, the Signer's own refresh (within 15 minutes of expiry, by real time) never fires either, so its count is a floor.`,
    sharedCredentials(results),
    "## 7. Connection open through the driver packages",
    results.packageOpen.length === 0
      ? "Did not run."
      : `What each driver package costs per new physical connection, against the same driver given the token as a static password, on the same gateway and verified TLS, ${results.packageOpen[0]?.samplesPerContender} connections per side one at a time after ${results.packageOpen[0]?.warmupPerContender} warm-up connections each, sides alternating. pg and mysql2: a pool of one, timed from \`connect()\` / \`getConnection()\` to the connection, which is then destroyed. postgres.js opens connections only for a query and cannot drop one, so each sample is a new \`sql\` (created untimed) whose first \`SELECT 1\` is timed: connection, login, postgres.js's type fetch and the query. Ours for postgres.js relays every byte through its login socket after the login too.`,
    packageOpen(results),
    "## Errors",
    results.errors.length === 0
      ? "None: every run completed."
      : results.errors.map((error) => `- ${error}`).join("\n"),
    `Network guard: ${results.networkGuard.blocked.length === 0 ? "no process tried to reach a non-loopback address (AWS was never contacted)." : `blocked ${results.networkGuard.blocked.join(", ")}`}`,
  ];
  return `${sections.join("\n\n")}\n`;
}
