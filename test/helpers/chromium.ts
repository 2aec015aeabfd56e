/**
 * Where the tests find Debian's Chromium and how they start it headless, in one place for the
 * interop, permessage-deflate and playground suites. `SOCKWISE_CHROMIUM` overrides the path.
 *
 * @module
 */
import { existsSync } from "node:fs";

/** The browser binary (Debian's `chromium` package by default). */
export const CHROMIUM = process.env["SOCKWISE_CHROMIUM"] ?? "/usr/bin/chromium";

/**
 * Headless flags; the background-networking ones keep Chromium from dialling out, which this
 * machine's closed network refuses.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

/** Why Chromium cannot be used, or undefined when it is installed. */
export function probeChromium(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is not installed (apt-get install -y chromium, or set SOCKWISE_CHROMIUM)`;
}
