import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real QEMU and systemd tests share two cores: keep files from starving each other.
    maxWorkers: 2,
    minWorkers: 1
  }
})
