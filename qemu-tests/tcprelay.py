"""One TCP connection between stdin/stdout and HOST:PORT: what QEMU's
guestfwd=...-cmd: runs for each connection a guest opens to a forwarded
address, so that a VM on the restricted user network (restrict=on) reaches
a server on the build machine's loopback, as many connections at a time as
it likes (a tcp: chardev would carry one).

    python3 tcprelay.py HOST PORT"""
import os
import socket
import sys
import threading


def pump(read, write):
    try:
        while True:
            data = read(65536)
            if not data:
                break
            write(data)
    except OSError:
        pass


def main():
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    except OSError:
        return 1  # the guest sees its connection closed
    s.settimeout(None)

    def to_server():
        pump(lambda n: os.read(0, n), s.sendall)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=to_server, daemon=True).start()

    def write_out(data):
        while data:
            n = os.write(1, data)
            data = data[n:]

    pump(s.recv, write_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
