import type { Options } from "tsup";

/**
 * One build shape for every package: dual ESM + CJS with declarations for both,
 * so `import` and `require` users each get types that match what they load.
 */
export function packageBuild(entry: Record<string, string>): Options {
  return {
    entry,
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    platform: "node",
    splitting: false,
    treeshake: true,
  };
}
