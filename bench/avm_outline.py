"""Read every Azure Verified Modules resource module (avm/res/*/*/main.bicep) with the portal's
Bicep readers and count the forms offered. Not run by CI.

    python bench/avm_outline.py /tmp/avm        # a folder holding avm/res/... (git archive of the repo)

Prints the modules read, forms offered, the errors, and the slowest reads (CPU time, which a loaded
machine does not inflate, and wall time).
"""

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provisioning.bicep.catalog import read_template_file  # noqa: E402


def main(root: Path) -> None:
    files = sorted((root / "avm" / "res").glob("*/*/main.bicep"))
    forms, errors, times = 0, Counter(), []
    for path in files:
        started, cpu = time.perf_counter(), time.process_time()
        result = read_template_file(path, name=str(path.parent.relative_to(root)))
        times.append((time.perf_counter() - started, time.process_time() - cpu, path))
        if result.ok:
            forms += 1
        else:
            errors[result.error] += 1
            print(f"  {path.relative_to(root)}: {result.error}")
    print(f"modules read: {len(files)}, forms offered: {forms} ({100 * forms / max(1, len(files)):.1f}%), "
          f"errors: {sum(errors.values())}")
    times.sort(key=lambda t: t[1], reverse=True)
    print("slowest (CPU, wall):", ", ".join(f"{c * 1000:.0f} ms / {w * 1000:.0f} ms {p.parent.relative_to(root)}"
                                          for w, c, p in times[:5]))
    print(f"over a second of CPU: {sum(1 for _, c, _ in times if c > 1)}; "
          f"over a second of wall time: {sum(1 for w, _, _ in times if w > 1)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
