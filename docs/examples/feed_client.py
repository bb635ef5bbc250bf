#!/usr/bin/python3
"""feed_client.py - send trades to feed-core from Python, with failover.

What libfeed-client does in C (see feed_client(3)), in a page of pyzmq:
a REQ socket to one endpoint of a list; on a timeout, close it without
lingering, open a new one to the next endpoint round the list and send
the same message again (the Lazy Pirate pattern of the ZeroMQ guide), up
to `retries` times. feed-core takes a replayed trade as a no-op, so a
resend never books a trade twice. With CURVE certificates (what
`feed-core keygen` writes) the connection is encrypted and the daemon
knows the client by its key.

As a program it sends each line of FILE (or stdin) as one message:

    feed_client.py -e "tcp://10.0.0.1:5555, tcp://10.0.0.2:5555" trades.csv
    feed_client.py --server-key server.key --key trader-1.key_secret -

Every outcome but TRUE is printed as `line N: OUTCOME`; the exit status is
0 when every message got TRUE, 1 otherwise, 2 on a usage error.
Needs python3-zmq (pyzmq) built with libsodium, as Debian's is.
"""

import argparse
import sys

import zmq
import zmq.auth

TRUE = "TRUE"
FALSE = "FALSE"
TIMEOUT = "timeout"
BAD_REPLY = "bad reply"


class FeedClient:
    """One client: a list of endpoints, one REQ socket at a time.

    Use it from one thread; give each thread its own client (they may
    share a zmq.Context).
    """

    def __init__(self, endpoints, timeout_ms=10000, retries=3, curve=None,
                 context=None):
        """endpoints: a comma-separated string or a list of strings.
        curve: None, or (server_public, client_public, client_secret) as
        Z85 bytes, e.g. from load_curve()."""
        if isinstance(endpoints, str):
            endpoints = endpoints.split(",")
        self.endpoints = [e.strip() for e in endpoints]
        if not self.endpoints or "" in self.endpoints:
            raise ValueError("an endpoint is empty")
        if timeout_ms < 1:
            raise ValueError("a timeout must be at least 1 ms")
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.curve = curve
        self.context = context or zmq.Context.instance()
        self.current = 0
        self.socket = None
        self.attempts = 0

    def _open(self):
        s = self.context.socket(zmq.REQ)
        # No linger: a lost request must not reach a daemon after its resend.
        s.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            server_public, client_public, client_secret = self.curve
            s.curve_serverkey = server_public
            s.curve_publickey = client_public
            s.curve_secretkey = client_secret
        s.connect(self.endpoints[self.current])
        self.socket = s

    def _close(self):
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None

    def send(self, message):
        """Sends one message (bytes or str: trade lines joined by "\\n")
        and returns (status, text): (TRUE, ""), (FALSE, reason),
        (BAD_REPLY, reply) or (TIMEOUT, "no reply after N attempts")."""
        if isinstance(message, str):
            message = message.encode()
        self.attempts = 0
        while True:
            self.attempts += 1
            if self.socket is None:
                self._open()
            self.socket.send(message)
            if self.socket.poll(self.timeout_ms, zmq.POLLIN):
                return self._judge(self.socket.recv_multipart())
            # REQ would wait for the lost reply forever: a new socket, to
            # the next endpoint, sends the message again.
            self._close()
            self.current = (self.current + 1) % len(self.endpoints)
            if self.attempts > self.retries:
                word = "attempt" if self.attempts == 1 else "attempts"
                return TIMEOUT, "no reply after %d %s" % (self.attempts, word)

    @staticmethod
    def _judge(frames):
        if len(frames) != 1:
            return BAD_REPLY, "(a reply of several frames)"
        reply = frames[0].decode("utf-8", "replace")
        # Only an exact TRUE books: not "TRUE\n", not "true".
        if reply == "TRUE":
            return TRUE, ""
        if reply == "FALSE" or reply.startswith("FALSE "):
            return FALSE, reply[6:]
        return BAD_REPLY, reply

    def close(self):
        self._close()


def load_curve(server_cert, client_cert):
    """The CURVE keys from two zcert certificate files: the server's public
    one (NAME.key) and the client's secret one (NAME.key_secret)."""
    server_public, _ = zmq.auth.load_certificate(server_cert)
    client_public, client_secret = zmq.auth.load_certificate(client_cert)
    if client_secret is None:
        raise ValueError("%s holds no secret key" % client_cert)
    return server_public, client_public, client_secret


def main():
    p = argparse.ArgumentParser(description="Send trade lines to feed-core.")
    p.add_argument("-e", "--endpoint", default="tcp://127.0.0.1:5555",
                   help="endpoint, or a comma-separated list")
    p.add_argument("-t", "--timeout", type=int, default=10000,
                   help="milliseconds to wait for a reply (default 10000)")
    p.add_argument("-r", "--retries", type=int, default=3,
                   help="resends after a timeout (default 3)")
    p.add_argument("--server-key", help="the server's public certificate")
    p.add_argument("--key", help="this client's secret certificate")
    p.add_argument("file", nargs="?", default="-")
    a = p.parse_args()
    if (a.server_key is None) != (a.key is None):
        p.error("CURVE needs both --server-key and --key")
    try:
        curve = load_curve(a.server_key, a.key) if a.key else None
        client = FeedClient(a.endpoint, a.timeout, a.retries, curve)
        f = sys.stdin if a.file == "-" else open(a.file)
    except (OSError, ValueError, zmq.ZMQError) as e:
        print("feed_client.py: %s" % e, file=sys.stderr)
        return 1
    ok = True
    with f:
        for n, line in enumerate(f, 1):
            status, text = client.send(line.rstrip("\n"))
            if status != TRUE:
                ok = False
                shown = "FALSE " + text if status == FALSE else text
                print("line %d: %s" % (n, shown), flush=True)
    client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
