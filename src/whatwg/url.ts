/**
 * "Get a URL record" for the WebSocket constructor.
 *
 * @see https://websockets.spec.whatwg.org/#dom-websocket-websocket steps 1–7
 * @module
 */

import { redactUserinfo } from "../node/proxy.js";
import { globalBaseURL } from "./global-origin.js";

/**
 * Parses `url` (already converted to a USVString), rewrites http→ws and https→wss, and refuses
 * other schemes and any fragment.
 *
 * @param base a base URL for relative input; Node has no document, so without one (or a
 *   process-wide one from `setGlobalOrigin()`) relative input fails (SPEC.md A4)
 * @throws {DOMException} SyntaxError when parsing fails, the scheme is not ws/wss/http/https, or
 *   the URL has a fragment (even an empty one)
 */
export function getUrlRecord(url: string, base?: string | URL): URL {
  let record: URL;
  const effectiveBase = base ?? globalBaseURL();
  try {
    record = effectiveBase === undefined ? new URL(url) : new URL(url, effectiveBase);
  } catch {
    // Userinfo (a password) is never echoed in a message (SPEC.md A10).
    throw new DOMException(`The URL '${redactUserinfo(url)}' is invalid.`, "SyntaxError");
  }
  if (record.protocol === "http:") record.protocol = "ws:";
  else if (record.protocol === "https:") record.protocol = "wss:";
  if (record.protocol !== "ws:" && record.protocol !== "wss:") {
    throw new DOMException(
      `The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${record.protocol.slice(0, -1)}' is not allowed.`,
      "SyntaxError",
    );
  }
  // The serialisation contains '#' exactly when the fragment is non-null (even if empty):
  // a literal '#' anywhere else would have been percent-encoded.
  if (record.href.includes("#")) {
    throw new DOMException(
      `The URL contains a fragment identifier ('${record.hash}'). Fragment identifiers are not allowed in WebSocket URLs.`,
      "SyntaxError",
    );
  }
  return record;
}

/**
 * Fetch's "bad port" list: a WebSocket to one of these fails asynchronously (SPEC.md A11).
 * @see https://fetch.spec.whatwg.org/#port-blocking
 */
export const BAD_PORTS: ReadonlySet<number> = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
  103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
  512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
  995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
  6669, 6679, 6697, 10080,
]);

/** The port a ws/wss URL connects to (80/443 when the URL has none). */
export function portOf(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "wss:" ? 443 : 80;
}
