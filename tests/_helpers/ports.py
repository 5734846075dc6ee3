"""A free TCP port on this machine, for a test's process-group rendezvous
(``MASTER_PORT``) or ``tools/dist_train.sh``'s ``PORT``."""
import socket


def free_port() -> int:
    """A port the OS has just handed out and released."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
