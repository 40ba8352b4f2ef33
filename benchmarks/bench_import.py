"""Import time of qtheory beside its dependencies, each in a fresh interpreter.

Run: ``python benchmarks/bench_import.py [--repeat N]``. "cold" is the first import after
the interpreter starts (best of N fresh processes; the OS file cache is warm after the
first); "first answer" adds building an M/G/1 queue and its SRPT mean (what a notebook's
first cell pays); "simulate" adds a first simulation (numba's cached kernels load).
"""

import argparse
import subprocess
import sys

SNIPPETS = {
    "numpy": "import numpy",
    "scipy.integrate": "import scipy.integrate",
    "sympy": "import sympy",
    "qtheory": "import qtheory",
    "qtheory, first answer": "import qtheory as qt; qt.MG1(0.5, qt.Exponential(1.0))"
                             ".mean_response_time(qt.SRPT)",
    "qtheory, first simulation": "import qtheory as qt; qt.MG1(0.5, qt.Exponential(1.0))"
                                 ".simulate(qt.SRPT, jobs=1000, replications=2)",
}


def timed(code, repeat):
    prog = ("import time; t = time.perf_counter(); " + code +
            "; print(time.perf_counter() - t)")
    return min(float(subprocess.run([sys.executable, "-c", prog], capture_output=True,
                                    text=True, check=True).stdout) for _ in range(repeat))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    base = timed(SNIPPETS["scipy.integrate"], args.repeat)
    print(f"{'what':<28}{'seconds':>10}{'/ scipy.integrate':>20}")
    for name, code in SNIPPETS.items():
        t = timed(code, args.repeat)
        print(f"{name:<28}{t:>10.4f}{t / base:>20.3f}")


if __name__ == "__main__":
    main()
