"""A TCP forwarder on a loopback port, to take "the database" away and bring it back.

``TcpProxy(target)`` forwards every connection made to ``127.0.0.1:proxy.port`` to ``target``
while started; ``stop()`` closes the listening socket AND every forwarded connection (what a
client sees when the database server goes down), ``start()`` listens again on the same port.

The port stays reserved from construction to ``__exit__``, also while stopped: a socket bound
to it with ``SO_REUSEPORT`` but not listening refuses connections (the database is down) and
keeps any other process (another test run, an outgoing connection) from taking the port in
between, which would make ``start()`` fail or connect the store to a stranger.
"""

from __future__ import annotations

import contextlib
import socket
import threading


def _port_socket(*, reuseaddr: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if reuseaddr:  # the listener re-binds over its own connections' TIME_WAIT leftovers
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        # Bound, never listening, without SO_REUSEADDR: nobody else can bind the port.
        self._holder: socket.socket | None = _port_socket(reuseaddr=False)
        self._holder.bind(("127.0.0.1", 0))
        self.port = int(self._holder.getsockname()[1])
        self.target = target
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> None:
        listener = _port_socket(reuseaddr=True)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.close()
