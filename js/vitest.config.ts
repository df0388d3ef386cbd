import { defineConfig } from "vitest/config";

export default defineConfig({
  // The tests also load the built bundles from ../cnnwidgets/static.
  server: { fs: { allow: [".."] } },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.ts"],
  },
});
