#!/usr/bin/python3
"""Python `websockets` (Debian python3-websockets 10.4) with permessage-deflate parameters, as
an interop peer for test/interop/deflate-websockets.test.ts. Run with /usr/bin/python3.

One JSON object per line on stdin, one per line on stdout:

    {"op": "serve", "pmd": P}                 -> {"event": "listening", "port": N}
    {"op": "connect", "url": U, "pmd": P}     -> {"event": "open", "conn": C, "extensions": H}
                                                 | {"event": "connect-error", "error": E}
    {"op": "quit"}

P is null (the library's default: compression="deflate") or an object with any of
server_no_context_takeover, client_no_context_takeover (booleans), server_max_window_bits,
client_max_window_bits (8-15; the client's may be true for the value-less form), given to
ServerPerMessageDeflateFactory / ClientPerMessageDeflateFactory.

Unsolicited: {"event": "connection", "conn": C, "extensions": H} (server role; H is the
Sec-WebSocket-Extensions the server answered, or null), and once per connection
{"event": "closed", "conn": C, "code": N, "rcvd": bool, "sent": bool}.

Every connection echoes each message unchanged. No size limit, no keepalive pings.
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


def factory_args(pmd):
    return {
        "server_no_context_takeover": bool(pmd.get("server_no_context_takeover", False)),
        "client_no_context_takeover": bool(pmd.get("client_no_context_takeover", False)),
        "server_max_window_bits": pmd.get("server_max_window_bits"),
        "client_max_window_bits": pmd.get("client_max_window_bits"),
    }


def extension_options(pmd, server):
    if pmd is None:
        return {"compression": "deflate"}
    args = factory_args(pmd)
    if server:
        if args["client_max_window_bits"] is True:
            args["client_max_window_bits"] = None
        factory = ServerPerMessageDeflateFactory(**args)
    else:
        # None leaves client_max_window_bits out of the offer; true offers it without a value.
        factory = ClientPerMessageDeflateFactory(**args)
    return {"compression": None, "extensions": [factory]}


async def echo_until_closed(conn, ws):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    except Exception as e:  # report, never hang
        sys.stderr.write(f"websockets_deflate_peer: conn {conn}: {type(e).__name__}: {e}\n")
    await ws.wait_closed()
    emit(
        {
            "event": "closed",
            "conn": conn,
            "code": ws.close_code,
            "rcvd": ws.close_rcvd is not None,
            "sent": ws.close_sent is not None,
        }
    )


async def handler(ws, _path=None):
    conn = register(ws)
    emit(
        {
            "event": "connection",
            "conn": conn,
            "extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
        }
    )
    await echo_until_closed(conn, ws)


async def connect(url, pmd):
    try:
        ws = await websockets.connect(
            url, max_size=None, ping_interval=None, **extension_options(pmd, server=False)
        )
    except Exception as e:
        emit({"event": "connect-error", "error": f"{type(e).__name__}: {e}"})
        return
    conn = register(ws)
    emit(
        {
            "event": "open",
            "conn": conn,
            "extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
        }
    )
    await echo_until_closed(conn, ws)


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
                handler,
                "127.0.0.1",
                0,
                max_size=None,
                ping_interval=None,
                **extension_options(command.get("pmd"), server=True),
            )
            servers.append(server)
            emit({"event": "listening", "port": server.sockets[0].getsockname()[1]})
        elif op == "connect":
            spawn(connect(command["url"], command.get("pmd")))
        elif op == "quit":
            break
    for server in servers:
        server.close()
    for ws in conns.values():
        ws.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
