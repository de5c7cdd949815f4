import { defineConfig, type Options } from "tsup";
import { packageBuild } from "../../tsup.shared";

/**
 * Both builds of the package load the driver through dist/require-driver.cjs, a CommonJS
 * file whose literal `require("pg")` / `require("mysql2")` bundlers follow (see
 * src/require-driver.ts). This plugin keeps it out of the main builds and points their
 * import at it.
 */
const requireDriverOutside: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "require-driver-outside",
  setup(build) {
    build.onResolve({ filter: /^\.\/require-driver$/ }, () => ({
      path: "./require-driver.cjs",
      external: true,
    }));
  },
};

const main = packageBuild({ index: "src/index.ts" });

export default defineConfig([
  // Each build cleans only its own files: the two run at the same time.
  { ...main, clean: ["index.*"], esbuildPlugins: [requireDriverOutside] },
  {
    ...main,
    entry: { "require-driver": "src/require-driver.ts" },
    format: ["cjs"],
    dts: false,
    // tsup's tree shaking runs Rollup over an ES module build, which would leave the
    // requires as a `__require` helper: esbuild's own CommonJS output keeps them literal.
    treeshake: false,
    clean: ["require-driver.*"],
  },
]);
