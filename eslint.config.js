// @ts-check
import tseslint from "typescript-eslint";

/** Globals the sans-I/O protocol core must not touch (STYLE.md §2). */
const ioGlobals = [
  "Buffer",
  "process",
  "console",
  "crypto",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "setImmediate",
  "clearImmediate",
  "queueMicrotask",
  "performance",
  "fetch",
  "require",
].map((name) => ({ name, message: "src/protocol is sans-I/O: inject this through ports.ts" }));

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "build/", "coverage/", "test-artifacts/", "tmp/"] },
  ...tseslint.configs.strict,
  {
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
    },
  },
  {
    // The package ships one CommonJS build (scripts/build.mjs), where import.meta cannot exist.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "MetaProperty[meta.name='import']",
          message:
            "src/ is also compiled to CommonJS (scripts/build.mjs): no import.meta (see src/cli/module-directory.ts)",
        },
      ],
    },
  },
  {
    // CommonJS scripts (the packaging test's consumer) require() by nature.
    files: ["**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["src/protocol/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "node:*",
                "fs",
                "net",
                "tls",
                "http",
                "https",
                "crypto",
                "zlib",
                "timers",
                "events",
                "stream",
              ],
              message: "src/protocol is sans-I/O: no Node modules (STYLE.md §2)",
            },
            {
              group: [
                "../node/*",
                "../whatwg/*",
                "../server/*",
                "../cli/*",
                "**/node/**",
                "**/whatwg/**",
                "**/server/**",
                "**/cli/**",
              ],
              message: "protocol/ imports nothing to its left",
            },
          ],
        },
      ],
      "no-restricted-globals": ["error", ...ioGlobals],
    },
  },
  {
    files: ["src/node/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/whatwg/**", "**/server/**", "**/cli/**"],
              message: "node/ imports only protocol/ (STYLE.md §2)",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/whatwg/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/server/**", "**/cli/**"],
              message: "whatwg/ and server/ do not import each other (STYLE.md §2)",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/server/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/whatwg/**", "**/cli/**"],
              message: "whatwg/ and server/ do not import each other (STYLE.md §2)",
            },
          ],
        },
      ],
    },
  },
);
