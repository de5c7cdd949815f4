import { defineConfig } from "tsup";
import { packageBuild } from "../../tsup.shared";

export default defineConfig(packageBuild({ index: "src/index.ts", v7: "src/v7.ts" }));
