"""bench/upload.sh's table: each tool's median and range over the rounds, by
store, and uploadgate's ratio to each other tool. Reads the runs on stdin, one
per line: store, tool, wall seconds, CPU seconds, peak RSS in KiB, and the
store's CPU seconds over the run (tab-separated).

    upload_table.py SIZE_BYTES < runs
"""

import statistics
import sys
from collections import defaultdict

size_mib = int(sys.argv[1]) / 1048576
runs = defaultdict(list)
failures = defaultdict(int)
for line in sys.stdin:
    store, tool, wall, cpu, rss, store_cpu = line.rstrip("\n").split("\t")
    if wall == "failed":
        failures[(store, tool)] += 1
    else:
        runs[(store, tool)].append((float(wall), float(cpu), int(rss), float(store_cpu)))


def spread(values, unit):
    return f"{statistics.median(values):.1f} {unit} ({min(values):.1f}-{max(values):.1f})"


print("| store | tool | wall: median (range) | throughput | CPU (user+sys) | peak RSS | store's CPU | failed runs |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
medians = {}
for (store, tool), samples in runs.items():
    walls, cpus, rss, store_cpus = zip(*samples)
    medians[(store, tool)] = (statistics.median(walls), statistics.median(cpus))
    print(
        f"| {store} | `{tool}` | {spread(walls, 's')} | {size_mib / statistics.median(walls):.0f} MiB/s "
        f"| {spread(cpus, 's')} | {max(rss) // 1024} MiB | {spread(store_cpus, 's')} | {failures[(store, tool)]} |"
    )
print()
print("| store | uploadgate against | wall | CPU |")
print("| --- | --- | --- | --- |")
for (store, tool), (wall, cpu) in medians.items():
    ours = medians.get((store, "uploadgate upload"))
    if tool == "uploadgate upload" or ours is None:
        continue
    print(f"| {store} | `{tool}` | {ours[0] / wall:.2f}x | {ours[1] / cpu:.2f}x |")
print()
print("Ratios of medians; below 1, uploadgate took less.")
