import { defineConfig } from "vitest/config";

export default defineConfig({
  define: { __OW_VERSION__: JSON.stringify(process.env.npm_package_version ?? "0.0.0-test") },
  test: { environment: "jsdom", include: ["js/**/*.test.ts"] },
});
