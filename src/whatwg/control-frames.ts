/**
 * A non-standard window on a WHATWG `WebSocket`'s control frames: the Pings and Pongs it
 * receives. The WHATWG API exposes none of them (SPEC.md J6); diagnostics such as the CLI's
 * `--show-ping-pong` need them. The socket answers every Ping itself, observed or not.
 *
 * @module
 */

/** Called with each Ping or Pong the socket receives, and its payload (a copy). */
export type ControlFrameListener = (kind: "ping" | "pong", data: Uint8Array) => void;

const listeners = new WeakMap<object, ControlFrameListener>();

/**
 * Calls `listener` for every Ping and Pong `socket` receives from now on (one listener per
 * socket: a second call replaces the first; `undefined` removes it).
 */
export function observeControlFrames(
  socket: object,
  listener: ControlFrameListener | undefined,
): void {
  if (listener === undefined) listeners.delete(socket);
  else listeners.set(socket, listener);
}

/** @internal The socket received a control frame. A listener's exception is reported, not thrown. */
export function notifyControlFrame(socket: object, kind: "ping" | "pong", data: Uint8Array): void {
  const listener = listeners.get(socket);
  if (listener === undefined) return;
  try {
    listener(kind, data.slice());
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
