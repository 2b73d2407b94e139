// `npm run fuzz` (tests/oracle/fuzz.mjs) runs the oracle fuzzer with this config; it is
// kept out of `npm test`, whose config includes only tests/**/*.test.ts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/oracle/fuzz-run.ts"],
    testTimeout: 24 * 3600_000,
    hookTimeout: 120_000,
  },
});
