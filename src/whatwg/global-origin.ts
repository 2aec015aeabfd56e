/**
 * A process-wide stand-in for a document's URL, after undici's `setGlobalOrigin()`: relative
 * WebSocket URLs resolve against it (as a browser resolves them against the document, SPEC.md
 * A4), and its origin is the `Origin` header when neither the `origin` option nor an `Origin`
 * header is given (SPEC.md F13). Unset by default: then relative URLs throw and no `Origin` is
 * sent, as before.
 *
 * @module
 */

let globalOrigin: URL | undefined;

/**
 * Sets (or, with `undefined`, clears) the process-wide base URL of `WebSocket`,
 * `WebSocketStream` and `ReconnectingWebSocket`. Only its origin matters for the `Origin`
 * header; relative URLs resolve against the whole URL, as against a document's.
 *
 * ```ts
 * setGlobalOrigin("https://app.example");
 * new WebSocket("/live"); // wss://app.example/live, with Origin: https://app.example
 * ```
 *
 * @throws {TypeError} with `code` ERR_WS_INVALID_OPTION when `url` is not an absolute http(s)
 *   URL
 */
export function setGlobalOrigin(url: string | URL | undefined): void {
  if (url === undefined) {
    globalOrigin = undefined;
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw invalid("not an absolute URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw invalid(`the scheme must be http or https, not '${parsed.protocol.slice(0, -1)}'`);
  }
  globalOrigin = parsed;
}

/** The process-wide base URL set by {@link setGlobalOrigin} (a copy), or `undefined`. */
export function getGlobalOrigin(): URL | undefined {
  return globalOrigin === undefined ? undefined : new URL(globalOrigin.href);
}

/** The serialized origin to send as `Origin` when nothing else says (internal). */
export function globalOriginHeader(): string | undefined {
  return globalOrigin?.origin;
}

/** The base for relative WebSocket URLs when the caller gives none (internal). */
export function globalBaseURL(): URL | undefined {
  return globalOrigin;
}

function invalid(problem: string): TypeError {
  return Object.assign(new TypeError(`Invalid global origin: ${problem}.`), {
    code: "ERR_WS_INVALID_OPTION",
  });
}
