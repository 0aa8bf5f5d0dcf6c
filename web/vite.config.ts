/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands inside the Python package, which serves it (src/glassgate/webapp.py):
// `/assets/*` hashed and immutable, `/ui/*` answered with index.html.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "../src/glassgate/static",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 500,
  },
  server: {
    // `npm run dev`: the API and the data plane come from a Glassgate on :4000.
    proxy: { "/api": "http://127.0.0.1:4000" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
