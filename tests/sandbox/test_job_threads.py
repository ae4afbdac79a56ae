"""multiprocessing's thread-side tools in a job (issue 17, family 5: no false rejections).

Its locks, semaphores and queues are POSIX named semaphores (files in /dev/shm, futexes shared
between processes, both refused in a job) and its queues use new pipes (refused too: their
inode numbers come from a machine-wide counter), so ``multiprocessing.pool.ThreadPool`` and
``multiprocessing.dummy`` failed every correct solution that used them. A job is one process,
so the sandbox gives its threads a condition-variable semaphore (``_JobSemLock``) and FIFO
pipes: the same program must give the same answers in a job as in a plain interpreter.
"""

from __future__ import annotations

import textwrap

SEMANTICS = textwrap.dedent("""
    import multiprocessing as mp, os, threading, time
    from multiprocessing.pool import ThreadPool
    from multiprocessing.dummy import Pool as DummyPool

    def _err(fn):
        try:
            fn()
            return 'no error'
        except Exception as e:
            return f'{type(e).__name__}: {e}'

    def f():
        out = []
        lock = mp.Lock()
        out += [lock.acquire(), lock.acquire(False), lock.acquire(timeout=0.05)]
        lock.release()
        out.append(_err(lock.release))
        rlock = mp.RLock()
        out += [rlock.acquire(), rlock.acquire(), rlock._semlock._count(),
                rlock._semlock._is_mine()]
        rlock.release()
        rlock.release()
        out.append(_err(rlock.release))
        sem = mp.Semaphore(2)
        out += [sem.acquire(), sem.acquire(), sem.acquire(False), sem.get_value()]
        for _ in range(3):
            sem.release()
        out.append(sem.get_value())
        bounded = mp.BoundedSemaphore(1)
        bounded.acquire()
        bounded.release()
        out.append(_err(bounded.release))
        # another thread waits on a held lock until it is released
        lock.acquire()
        got = []
        def take():
            with lock:
                got.append(1)
        t = threading.Thread(target=take)
        t.start()
        time.sleep(0.05)
        out.append(len(got))
        lock.release()
        t.join()
        out.append(len(got))
        # a lock released by another thread than took it (a semaphore: allowed)
        lock.acquire()
        t = threading.Thread(target=lock.release)
        t.start()
        t.join()
        out.append(lock.acquire(False))
        lock.release()
        # events and conditions (shared ctypes: the test below)
        ev = mp.Event()
        threading.Timer(0.02, ev.set).start()
        out += [ev.wait(2), ev.is_set()]
        cond = mp.Condition()
        box = []
        def produce():
            with cond:
                box.append('x')
                cond.notify()
        with cond:
            threading.Thread(target=produce).start()
            out.append(cond.wait_for(lambda: box, timeout=2))
        # queues and pools
        q = mp.Queue()
        q.put([1, 2])
        out.append(q.get(timeout=2))
        sq = mp.SimpleQueue()
        sq.put('y')
        out += [sq.get(), sq.empty()]
        with ThreadPool(3) as pool:
            out.append(pool.map(lambda x: x * x, range(30), chunksize=1))
            out.append(pool.apply_async(sum, ([1, 2, 3],)).get(timeout=5))
            out.append(sorted(pool.imap_unordered(abs, [-1, -2, -3])))
        with DummyPool(2) as pool:
            out.append(pool.starmap(pow, [(2, 3), (3, 2)]))
        r, w = mp.Pipe(duplex=False)
        w.send({'a': 1})
        out.append(r.recv())
        return out
""")


def _here(program: str, *args: object) -> object:
    """What ``program``'s ``f`` returns in this interpreter, outside any sandbox."""
    here: dict = {}
    exec(program, here)  # noqa: S102 - the same trusted program the job runs
    return here["f"](*args)


def _in_job(worker, job, program: str, args: str = "()") -> object:  # noqa: ANN001
    """What it returns in a job, which must end with a value and nothing refused."""
    frame, value, status = job(worker, program, args)
    assert frame is not None and "value" in frame, frame
    assert not status.refusals, status.refusals
    return value


def test_multiprocessing_thread_tools_work_in_a_job_as_in_one_process(worker, job):
    expected = _here(SEMANTICS)
    assert _in_job(worker, job, SEMANTICS) == expected
    assert expected[3] == "ValueError: semaphore or lock released too many times"
    assert expected[8] == "AssertionError: attempt to release recursive lock not owned by thread"


def test_a_contended_lock_waits_in_the_job_instead_of_crashing_it(worker, job):
    # named semaphores wait on futexes shared between processes, which the filter refuses:
    # glibc treats the refusal as fatal, so a contended multiprocessing lock killed the job
    code = textwrap.dedent("""
        import multiprocessing as mp, threading
        def f():
            lock, total = mp.Lock(), [0]
            def add():
                for _ in range(2000):
                    with lock:
                        total[0] += 1
            ts = [threading.Thread(target=add) for _ in range(8)]
            [t.start() for t in ts]
            [t.join() for t in ts]
            return total[0]
    """)
    frame, value, status = job(worker, code)
    assert value == 16000, frame
    assert not status.refusals, status.refusals


SHARED_CTYPES = textwrap.dedent("""
    import multiprocessing as mp, threading
    from multiprocessing import sharedctypes

    def f():
        out = []
        count = mp.Value('i', 0)
        def add():
            for _ in range(500):
                with count.get_lock():
                    count.value += 1
        ts = [threading.Thread(target=add) for _ in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        out.append(count.value)
        arr = mp.Array('d', [0.5, 1.5, 2.5])
        arr[1] = 9.0
        out += [list(arr), arr[:2], len(arr)]
        raw = mp.RawArray('b', b'abc')
        out.append(bytes(raw))
        out.append(sharedctypes.RawValue('q', 2**40).value)
        big = mp.Array('i', 200_000, lock=False)  # a second arena: past the first's size
        big[-1] = 7
        out.append(sum(big))
        huge = mp.Array('d', 3_000_000, lock=False)  # 24 MB: past a job's file-size limit
        huge[-1] = 2.5
        out.append(huge[-1])
        barrier = mp.Barrier(3)
        got = []
        def meet():
            got.append(barrier.wait(timeout=5))
        ts = [threading.Thread(target=meet) for _ in range(3)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        out.append(sorted(got))
        out.append(barrier.n_waiting)
        return out
""")


def test_shared_ctypes_and_barriers_work_in_a_job_as_in_one_process(worker, job):
    # their memory is an arena whose file multiprocessing.heap puts in /dev/shm after asking
    # statvfs for room: a job has neither, and every correct solution using them raised; in a
    # job it is anonymous memory (a file on /tmp had the file-size limit: 16 MiB at most)
    expected = _here(SHARED_CTYPES)
    assert _in_job(worker, job, SHARED_CTYPES) == expected
    assert expected[0] == 2000 and expected[-2] == [0, 1, 2]


ASYNCIO = textwrap.dedent("""
    import asyncio, os
    from multiprocessing.pool import ThreadPool

    async def square(x):
        await asyncio.sleep(0.001)
        return x * x

    async def main(xs):
        got = await asyncio.gather(*(square(x) for x in xs))
        total = await asyncio.to_thread(sum, got)  # a thread wakes the loop: its self-pipe
        q = asyncio.Queue()
        await q.put(total)
        return [got, total, await q.get()]

    def f(xs):
        out = []
        for _ in range(12):  # an event loop (two pipes) and a pool (one) a round: all reused
            out = asyncio.run(main(xs))
            loop = asyncio.new_event_loop()
            out.append(loop.run_until_complete(square(3)))
            loop.close()
            with ThreadPool(2) as pool:
                out.append(pool.map(abs, [-1, -2]))
        del pool, loop  # the last pool's pipe is held while it is
        held, refused = [], None
        try:
            while len(held) < 9:
                held.append(os.pipe())
        except OSError as e:
            refused = e.errno
        for r, w in held:
            os.close(r)
            os.close(w)
        out.append((len(held), refused))
        return out
""")


def test_asyncio_runs_in_a_job_as_in_one_process_and_pipes_are_handed_out_again(worker, job):
    # an event loop wakes itself through socket.socketpair, which the filter refuses: every
    # correct solution using asyncio failed; and a job's eight pipes were eight over all its
    # calls, so a solution making a pool or a loop on every call failed from its ninth
    expected = _here(ASYNCIO, [1, 2, 3])
    assert expected[-1] == (9, None)
    expected[-1] = (8, 24)  # eight held at once at most (EMFILE)
    assert _in_job(worker, job, ASYNCIO, "([1, 2, 3],)") == expected
    assert expected[:4] == [[1, 4, 9], 14, 14, 9]


def test_event_loops_never_closed_give_their_pipes_back_once_collected(worker, job):
    # each holds two of the job's eight pipes until collected (a cycle): the fifth call of a
    # solution that never closes its loop ran out (red team 22)
    code = textwrap.dedent("""
        import asyncio
        async def one():
            return 1
        def f():
            return sum(asyncio.new_event_loop().run_until_complete(one()) for _ in range(20))
    """)
    frame, value, status = job(worker, code)
    assert value == 20, frame
