"""Python's collector on the scrape benchmark's directory.

Usage: python scrape_multiprocess.py DIR SCRAPES BUDGET_SECONDS MIN_WARM SAMPLE_PREFIX
Prints one JSON object with the same fields as bench/lib/measure.ts. Python's
MultiProcessCollector caches nothing, so the cold scrape is simply the first.
"""
import gc
import json
import os
import resource
import sys
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector


def snapshot():
    with open('/proc/self/statm') as f:
        resident_pages = int(f.read().split()[1])
    return {'rssMb': resident_pages * os.sysconf('SC_PAGE_SIZE') / 1048576, 'heapUsedMb': 0, 'externalMb': 0}


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-p * len(ordered) // 100)
    return ordered[min(len(ordered) - 1, max(0, rank - 1))]


def main():
    directory, scrapes, budget, min_warm, prefix = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    gc.collect()
    before = snapshot()

    def timed():
        wall, cpu = time.perf_counter(), time.process_time()
        text = generate_latest(registry)
        return text, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000

    text, cold_ms, cold_cpu_ms = timed()
    warm, warm_cpu, errors = [], [], []
    phase_start = time.perf_counter()
    for _ in range(scrapes):
        if len(warm) >= min_warm and time.perf_counter() - phase_start > budget:
            break
        try:
            text, ms, cpu_ms = timed()
        except Exception as err:  # a file changing under the reader, reported like the Node systems do
            errors.append(str(err))
            continue
        warm.append(ms)
        warm_cpu.append(cpu_ms)
    gc.collect()
    after = snapshot()
    samples = sum(1 for line in text.decode('utf-8').split('\n') if line.startswith(prefix))
    print(json.dumps({
        'coldMs': cold_ms, 'coldCpuMs': cold_cpu_ms, 'warmMs': warm, 'warmCpuMs': warm_cpu,
        'warmP50Ms': percentile(warm, 50), 'warmP99Ms': percentile(warm, 99), 'warmCpuP50Ms': percentile(warm_cpu, 50),
        'bytes': len(text), 'samples': samples, 'before': before, 'after': after,
        'rssDeltaMb': after['rssMb'] - before['rssMb'], 'heapDeltaMb': 0,
        'maxRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'gcForced': True, 'errors': errors[:20],
    }))


if __name__ == '__main__':
    main()
