#!/usr/bin/python3
"""Python `websockets` (Debian python3-websockets 10.4) as an interop peer for test/interop
(the close matrix, driven by test/interop/python-peer.ts, and the permessage-deflate suite,
driven by test/helpers/deflate-python-peer.ts).

Run with /usr/bin/python3 (the Debian interpreter that sees the package). The test drives it
with one JSON object per line on stdin and reads one JSON object per line on stdout:

    {"op": "serve"[, "pmd": P]}             -> {"event": "listening", "port": N}
    {"op": "connect", "url": U[, "pmd": P]} -> {"event": "open", "conn": C, "extensions": H}
                                               | {"event": "connect-error", "error": E}
    {"op": "close", "conn": C, "args": [...], "req": R}
                                             -> {"reply": R, "error": null | "Type: message"}
    {"op": "send", "conn": C, "kind": "text" | "binary", "size": N}
    {"op": "abort", "conn": C}              (drop TCP now: transport.abort())
    {"op": "quit"}

Unsolicited events: {"event": "connection", "conn": C, "extensions": H} (server role) and, once
per connection, {"event": "closed", "conn": C, "code", "reason", "rcvd", "sent"}. H is the
Sec-WebSocket-Extensions header of the response (null when absent).

Every connection echoes each message back unchanged (text as text, binary as binary). Without
"pmd", the library runs with its defaults (max_size 1 MiB, ping_interval 20 s, close_timeout
10 s, permessage-deflate offered), because the point is how the library behaves as shipped.
With "pmd" (the permessage-deflate suite), there is no size limit and no keepalive ping, and P
configures the extension: null is the library's default (compression="deflate"); an object with
any of server_no_context_takeover, client_no_context_takeover (booleans), server_max_window_bits,
client_max_window_bits (8-15; the client's may be true for the value-less form) is given to
ServerPerMessageDeflateFactory / ClientPerMessageDeflateFactory.

`close` passes `args` straight to `WebSocketCommonProtocol.close(code=1000, reason="")`: an
empty list therefore sends code 1000 (the library has no way to send a Close without a body).
The reply comes as soon as close() raised or after 50 ms (close() itself waits for the whole
closing handshake).

"closed" reports what websockets' own state records: `close_code`/`close_reason` (1006 and ""
when no Close arrived) and whether a Close was received (`rcvd`) and sent (`sent`); the tests
treat rcvd and sent as "wasClean", websockets exposes nothing closer.
"""

import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

conns = {}
next_id = 0


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def register(ws):
    global next_id
    next_id += 1
    conns[next_id] = ws
    return next_id


def library_options(command, server):
    """The keyword arguments of serve()/connect() for a command (see "pmd" above)."""
    if "pmd" not in command:
        return {}
    pmd = command["pmd"]
    options = {"max_size": None, "ping_interval": None}
    if pmd is None:
        return {**options, "compression": "deflate"}
    args = {
        "server_no_context_takeover": bool(pmd.get("server_no_context_takeover", False)),
        "client_no_context_takeover": bool(pmd.get("client_no_context_takeover", False)),
        "server_max_window_bits": pmd.get("server_max_window_bits"),
        "client_max_window_bits": pmd.get("client_max_window_bits"),
    }
    if server:
        if args["client_max_window_bits"] is True:
            args["client_max_window_bits"] = None
        factory = ServerPerMessageDeflateFactory(**args)
    else:
        # None leaves client_max_window_bits out of the offer; true offers it without a value.
        factory = ClientPerMessageDeflateFactory(**args)
    return {**options, "compression": None, "extensions": [factory]}


async def echo_until_closed(conn, ws):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    except Exception as e:  # report, never hang
        sys.stderr.write(f"websockets_peer: conn {conn}: {type(e).__name__}: {e}\n")
    await ws.wait_closed()
    emit(
        {
            "event": "closed",
            "conn": conn,
            "code": ws.close_code,
            "reason": ws.close_reason,
            "rcvd": ws.close_rcvd is not None,
            "sent": ws.close_sent is not None,
        }
    )


async def handler(ws, _path=None):
    conn = register(ws)
    extensions = ws.response_headers.get("Sec-WebSocket-Extensions")
    emit({"event": "connection", "conn": conn, "extensions": extensions})
    await echo_until_closed(conn, ws)


async def connect(command):
    try:
        ws = await websockets.connect(command["url"], **library_options(command, server=False))
    except Exception as e:
        emit({"event": "connect-error", "error": f"{type(e).__name__}: {e}"})
        return
    conn = register(ws)
    extensions = ws.response_headers.get("Sec-WebSocket-Extensions")
    emit({"event": "open", "conn": conn, "extensions": extensions})
    await echo_until_closed(conn, ws)


async def close(command):
    ws = conns[command["conn"]]
    task = asyncio.ensure_future(ws.close(*command["args"]))
    done, _ = await asyncio.wait({task}, timeout=0.05)
    error = None
    if done and task.exception() is not None:
        e = task.exception()
        error = f"{type(e).__name__}: {e}"
    emit({"reply": command["req"], "error": error})


async def send(command):
    ws = conns[command["conn"]]
    size = command["size"]
    try:
        await ws.send("x" * size if command["kind"] == "text" else bytes(size))
    except websockets.ConnectionClosed:
        pass


async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()

    def spawn(coroutine):
        task = asyncio.ensure_future(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    servers = []
    while True:
        line = await reader.readline()
        if not line:
            break
        command = json.loads(line)
        op = command["op"]
        if op == "serve":
            server = await websockets.serve(
                handler, "127.0.0.1", 0, **library_options(command, server=True)
            )
            servers.append(server)
            emit({"event": "listening", "port": server.sockets[0].getsockname()[1]})
        elif op == "connect":
            spawn(connect(command))
        elif op == "close":
            spawn(close(command))
        elif op == "send":
            spawn(send(command))
        elif op == "abort":
            conns[command["conn"]].transport.abort()
        elif op == "quit":
            break
    for server in servers:
        server.close()
    for ws in conns.values():
        ws.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
