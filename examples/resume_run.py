"""A journaled run survives a crash: resume it and nothing is evaluated twice.

Run it twice: the first time it "crashes" (a KeyboardInterrupt after 150 evaluations) and the
second time it resumes from run.sqlite and finishes.
"""

import sys
from pathlib import Path

import numpy as np

import optkit

JOURNAL = Path("run.sqlite")
CALLS = 0


def expensive(x):
    global CALLS
    CALLS += 1
    if "--crash" in sys.argv and CALLS > 150:
        raise KeyboardInterrupt("simulated crash")
    return float(np.sum(x ** 2) + np.sum(np.cos(3 * x)))


problem = optkit.Problem(expensive, optkit.Box(-3, 3, dim=5), name="demo")

if __name__ == "__main__":
    if not JOURNAL.exists():
        sys.argv.append("--crash")
        try:
            optkit.make("pycma", problem.space, seed=1).minimize(problem, 600, journal=JOURNAL)
        except KeyboardInterrupt:
            print(f"crashed after {CALLS - 1} evaluations; run this script again to resume")
    else:
        res = optkit.resume(JOURNAL, problem)
        print(f"resumed: {CALLS} new evaluations, {res.nfev} in total, best {res.fun:.6f} ({res.status.name})")
