"""Run every benchmark in bench/ in turn; each prints its table and appends to bench/RESULTS.md.

    python bench/run_all.py            # all
    python bench/run_all.py lazybrush  # those whose file name contains the word
"""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
scripts = sorted(p for p in here.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_"))
wanted = sys.argv[1:]
failed = []
for script in scripts:
    if wanted and not any(w in script.stem for w in wanted):
        continue
    print(f"== {script.name}", flush=True)
    if subprocess.run([sys.executable, str(script)]).returncode != 0:
        failed.append(script.name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
