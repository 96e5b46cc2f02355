"""W8 reference: CPython's concurrent.futures.ProcessPoolExecutor.

Submits TASKS tiny tasks (x + 1) one by one with submit() (no chunking), all in
flight, on a pool of WORKERS processes, waits for all of them and prints one JSON
object with the throughput. The pool is started and warmed up (one task per
worker) before the clock starts, as for the Node contenders.

usage: python3 py_w8.py [--workers N] [--tasks N]
"""
import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, wait


def inc(x):
    return x + 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--tasks", type=int, default=10_000)
    a = p.parse_args()
    with ProcessPoolExecutor(max_workers=a.workers) as ex:
        # warm-up: start every worker process before timing
        for f in [ex.submit(inc, i) for i in range(a.workers * 4)]:
            f.result()
        t0 = time.perf_counter()
        futures = [ex.submit(inc, i) for i in range(a.tasks)]
        done, not_done = wait(futures)
        total = sum(f.result() for f in futures)
        dt = time.perf_counter() - t0
    expected = a.tasks * (a.tasks + 1) // 2
    if total != expected or not_done:
        print(json.dumps({"error": f"wrong sum {total} != {expected}"}))
        sys.exit(1)
    print(json.dumps({
        "tasks": a.tasks,
        "workers": a.workers,
        "seconds": dt,
        "tasks_per_s": a.tasks / dt,
        "python": platform.python_version(),
        "start_method": multiprocessing.get_start_method(),
    }))


if __name__ == "__main__":
    main()
