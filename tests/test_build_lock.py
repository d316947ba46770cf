"""The compiled-project lock (bioevo.sim.cache.project_lock): runs share it, a build takes it alone.

flock gives a waiting exclusive lock no priority, so runs of one project whose shared locks
overlap (two or more training processes of the same network shape) kept a third process that
must build or verify the project waiting for as long as they ran (seen: 200 s)."""
import threading

from bioevo.sim.cache import project_lock as _locked

RUNS = 300  # per runner


def test_a_build_gets_the_lock_while_overlapping_runs_go_on(tmp_path):
    """Two runners hand the shared lock over so that one of them always holds it: without a
    turnstile the builder can only get in once both have ended."""
    lock = tmp_path / "project.lock"
    cond = threading.Condition()
    inside, turn, runs = [False, False], [0], [0]
    started = threading.Event()
    runs_when_built = []

    def runner(k: int) -> None:
        for _ in range(RUNS):
            with _locked(lock, exclusive=False):
                with cond:
                    inside[k] = True
                    cond.notify_all()
                    if inside[1 - k]:
                        started.set()
                    # leave only on my turn and while the other runner is in (or when it cannot come in)
                    cond.wait_for(lambda: turn[0] == k and inside[1 - k], timeout=0.5)
                    inside[k] = False
                    turn[0] = 1 - k
                    runs[0] += 1
                    cond.notify_all()

    def builder() -> None:
        with _locked(lock, exclusive=True):
            runs_when_built.append(runs[0])

    runners = [threading.Thread(target=runner, args=(k,)) for k in range(2)]
    for t in runners:
        t.start()
    assert started.wait(timeout=30)
    b = threading.Thread(target=builder)
    b.start()
    for t in runners + [b]:
        t.join()
    assert runs_when_built and runs_when_built[0] < 2 * RUNS, "the build waited until every run had ended"


def test_runs_share_the_lock(tmp_path):
    lock = tmp_path / "project.lock"
    both_inside = threading.Barrier(2, timeout=30)

    def runner() -> None:
        with _locked(lock, exclusive=False):
            both_inside.wait()  # both hold it at once, or the barrier times out (BrokenBarrierError)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not both_inside.broken
