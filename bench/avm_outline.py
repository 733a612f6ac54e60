"""Read every Azure Verified Modules resource module (avm/res/*/*/main.bicep) with the portal's
Bicep readers and count the forms offered. Not run by CI.

    python bench/avm_outline.py /tmp/avm        # a folder holding avm/res/... (git archive of the repo)

Prints the modules read, forms offered, the errors, and the slowest reads.
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
        started = time.perf_counter()
        result = read_template_file(path, name=str(path.parent.relative_to(root)))
        times.append((time.perf_counter() - started, path))
        if result.ok:
            forms += 1
        else:
            errors[result.error] += 1
            print(f"  {path.relative_to(root)}: {result.error}")
    print(f"modules read: {len(files)}, forms offered: {forms} ({100 * forms / max(1, len(files)):.1f}%), "
          f"errors: {sum(errors.values())}")
    times.sort(reverse=True)
    print("slowest:", ", ".join(f"{t * 1000:.0f} ms {p.parent.relative_to(root)}" for t, p in times[:5]))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
