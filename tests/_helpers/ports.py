"""A free TCP port on this machine, for a test's process-group rendezvous
(``MASTER_PORT``) or ``tools/dist_train.sh``'s ``PORT``.

The port is drawn below the kernel's ephemeral range
(``/proc/sys/net/ipv4/ip_local_port_range``).  A port the OS hands out for
``bind(0)`` lies inside that range, so between this call and the rendezvous
the kernel may give it to another test's outgoing connection (gloo opens
many); the master's bind then fails and the other ranks wait for it until
their timeout.  Ports below the range are only ever taken by a ``bind``.
"""
import random
import socket

#: used when the ephemeral range cannot be read
_DEFAULT_EPHEMERAL_START = 32768
#: the lowest port drawn (above the well-known and most registered services)
_LOWEST = 20000
_handed_out = set()


def _ephemeral_start() -> int:
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_START


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port below the ephemeral range that nobody is bound to now and
    that this process has not handed out before."""
    high = _ephemeral_start()
    low = _LOWEST if high > _LOWEST + 1000 else 1024
    rng = random.Random()  # seeded from os.urandom: differs per xdist worker
    for _ in range(1000):
        port = rng.randrange(low, high)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f'no free TCP port in [{low}, {high})')
