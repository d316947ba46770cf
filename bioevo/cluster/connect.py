"""Open the Dask cluster a run asks for, and refuse one that cannot run it.

``--workers N`` starts a LocalCluster of N worker processes with one thread
each (one compiled binary per core); ``--scheduler ADDRESS`` joins a running
cluster (``dask scheduler`` / ``dask worker``, dask-jobqueue).  Everything
that can be wrong with the request or the cluster is a one-line
:class:`~bioevo.config.ConfigError`, raised before a run directory exists."""
from __future__ import annotations

import logging
import re
import socket
from contextlib import contextmanager
from typing import Iterator

from ..config import ConfigError

CONNECT_TIMEOUT_S = 10.0  # joining a scheduler
WORKERS_TIMEOUT_S = 30.0  # waiting for the first worker of a scheduler
#: packages that must be the same version on every worker as here: results are bit for bit only then
SAME_VERSION = ("bioevo", "brian2", "numpy")


def check_options(workers: int | None, scheduler: str | None) -> None:
    """``workers`` and ``scheduler`` are each optional and exclude each other."""
    if workers is not None and scheduler is not None:
        raise ConfigError(f"--workers {workers} and --scheduler {scheduler} exclude each other: --workers starts "
                          "a local Dask cluster, --scheduler joins a running one; give one")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"--workers must be an integer >= 1 (Dask worker processes), got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ConfigError(f"--scheduler must be a Dask scheduler address such as tcp://host:8786, got {scheduler!r}")


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("--workers/--scheduler need Dask: pip install 'bioevo[dask]' "
                          "(dask[distributed], dask-jobqueue)") from None
    return distributed


@contextmanager
def cluster_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[object | None]:
    """A ``distributed.Client`` for the request (None when neither is given),
    checked by :func:`check_cluster`; a LocalCluster it started is closed on exit."""
    check_options(workers, scheduler)
    if workers is None and scheduler is None:
        yield None
        return
    distributed = _import_distributed()
    with _quiet_dask_logs():
        yield from _open(distributed, workers, scheduler)


@contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Dask logs a lost scheduler or a dead worker with tracebacks; bioevo reports what it means in one line."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name == "distributed" or name.startswith("distributed.")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def _open(distributed, workers: int | None, scheduler: str | None) -> Iterator[object]:
    cluster = None
    if workers is not None:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.CRITICAL)
        client = distributed.Client(cluster)
        client.wait_for_workers(workers, timeout=WORKERS_TIMEOUT_S)
    else:
        _probe_scheduler(distributed, scheduler)
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except Exception as err:  # noqa: BLE001 - refused, timed out, bad scheme, or not a Dask scheduler at all
            reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
            raise ConfigError(f"--scheduler {scheduler}: no Dask scheduler reachable there ({reason}); "
                              "give the address 'dask scheduler' printed, e.g. tcp://host:8786") from None
    try:
        check_cluster(client, scheduler or "the local cluster")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _probe_scheduler(distributed, address: str) -> None:
    """Ask ``address`` who it is, every step within CONNECT_TIMEOUT_S.

    ``distributed.Client(timeout=)`` bounds the TCP connect only: a port that
    answers but does not speak Dask's protocol (a web server, an ssh daemon)
    leaves it waiting for the handshake for ever.  A Dask worker's address
    answers, but is not a scheduler."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"--scheduler {address}: {why}; give the address 'dask scheduler' printed, "
                           "e.g. tcp://host:8786")

    async def identity() -> dict:
        comm = await asyncio.wait_for(distributed.comm.connect(address, timeout=CONNECT_TIMEOUT_S),
                                      CONNECT_TIMEOUT_S + 1)
        try:
            await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), CONNECT_TIMEOUT_S)
            return await asyncio.wait_for(comm.read(), CONNECT_TIMEOUT_S)
        finally:
            comm.abort()

    host_port = re.fullmatch(r"tcp://\[?([^\]]+?)\]?:(\d+)", address)
    if host_port:  # a closed port is refused at once; Dask's connect would retry it until its timeout
        try:
            socket.create_connection((host_port.group(1), int(host_port.group(2))), timeout=CONNECT_TIMEOUT_S).close()
        except ConnectionRefusedError:
            raise refuse("no Dask scheduler reachable there (connection refused: nothing listens on that port)") \
                from None
        except OSError:
            pass  # unknown host, unreachable network, timeout: Dask's own attempt says which
    with ThreadPoolExecutor(1) as pool:  # its own event loop, whether or not the caller runs one
        try:
            reply = pool.submit(asyncio.run, identity()).result()
        except (asyncio.TimeoutError, TimeoutError):
            raise refuse(f"something answers there but is not a Dask scheduler (no Dask reply within "
                         f"{CONNECT_TIMEOUT_S:.0f} s)") from None
        except Exception as err:  # noqa: BLE001 - refused, bad scheme, garbage on the wire
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
            raise refuse(f"no Dask scheduler reachable there ({reason})") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        raise refuse(f"it answers as {kind or 'something else'}, not as a Dask scheduler")


def check_cluster(client, name: str) -> None:
    """At least one worker, and bioevo, brian2 and numpy on every worker at this process's versions."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except TimeoutError:
        raise ConfigError(f"--scheduler {name}: no Dask worker joined within {WORKERS_TIMEOUT_S:.0f} s; "
                          f"start one with: dask worker {name}") from None
    versions = client.get_versions(packages=list(SAME_VERSION))
    here = versions["client"]["packages"]
    for address, info in [("scheduler", versions["scheduler"]), *sorted(versions["workers"].items())]:
        for package in SAME_VERSION:
            there = info["packages"].get(package)
            if there != here.get(package):
                found = "is missing" if there is None else f"is {there}"
                where = "the Dask scheduler" if address == "scheduler" else f"Dask worker {address}"
                raise ConfigError(f"{where}: {package} {found}, this process has {here.get(package)}; "
                                  f"install the same bioevo environment on every worker (pip install 'bioevo[dask]')")
    from . import remote
    from .plugin import ImportBrian2

    try:
        client.register_plugin(ImportBrian2())  # imports bioevo and brian2 on every worker
        client.submit(remote.probe, pure=False).result()  # the scheduler unpickles tasks: it needs bioevo too
    except Exception as err:  # noqa: BLE001 - the cluster's error, in one line
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ConfigError(f"the Dask scheduler or workers of {name} cannot import bioevo and brian2 ({reason}); "
                          "run them in the same environment as this process (pip install 'bioevo[dask]')") from None
