import { defineConfig } from 'vitest/config';

// Every test talks to real servers on 127.0.0.1 and runs native code: separate processes
// (forks) keep one crash from taking the others down; generous timeouts are hang guards only.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
