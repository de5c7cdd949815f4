import { guardReport, installNetworkGuard } from "../network-guard";
import type { LambdaApp } from "./target";

/**
 * One cold start, in a fresh process: loads the app bundle given as argv[2] (module
 * load: evaluating the bundle, init included), then waits for the token it asked for
 * at init (first token: the load, credentials from the container endpoint, the
 * signature). Prints one JSON line of timings; never the token.
 */
installNetworkGuard();
const start = performance.now();
// The bundle under test is CommonJS: loading it with require is the measurement.
const app = require(process.argv[2] ?? "") as LambdaApp;
const loaded = performance.now();
app.firstToken.then(
  (token) => {
    const done = performance.now();
    process.stdout.write(
      `${JSON.stringify({
        loadMs: loaded - start,
        firstTokenMs: done - start,
        // A presigned token with the temporary credentials' session token.
        signed: token.includes("X-Amz-Signature=") && token.includes("X-Amz-Security-Token="),
        blocked: guardReport().blocked,
      })}\n`,
    );
    // The app's pool and the SDK's agents may keep handles open: the sample is taken.
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
