"""Prove that a configuration makes this machine compute other floats (``make test-portable``).

``make test-portable`` re-runs the tests under another configuration (``ATEN_CPU_CAPABILITY=default
OMP_NUM_THREADS=1``) to show that no check depends on the floats of the machine that executed the
notebooks. That only proves something if the configuration really changes the floats here. This script
trains Net-B for a few full-batch Adam steps on fixed images, once in a child process with the current
environment and once with the given variables, and compares the losses bit for bit.

Usage: python scripts/float_fingerprint.py ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1
Exit status 0 when the floats differ, 1 when they are identical (the second run would prove nothing).
See docs/AUTHORING.md, "What the checks are for".
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, torch, ftlib
ftlib.seed_everything(0)
x, y = ftlib.load_fashion_mnist("test")
x, y = x[:256], y[:256]
model = ftlib.NetB(num_classes=10)
history = ftlib.fit(model, x, y, steps=20, lr=1e-3, batch_size=None, seed=0, progress=False)
print(json.dumps({"losses": [float(v).hex() for v in history.loss], "threads": torch.get_num_threads(),
                  "capability": torch.backends.cpu.get_cpu_capability()}))
"""


def fingerprint(extra_env: dict[str, str]) -> dict:
    """Losses (as exact hex floats) of 20 training steps in a fresh process with ``extra_env`` added."""
    env = {**os.environ, **extra_env}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse(assignments: list[str]) -> dict[str, str]:
    pairs = [a.split("=", 1) for a in assignments]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise SystemExit("give the configuration as NAME=VALUE pairs, e.g. ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1")
    return dict(pairs)


def main(argv: list[str]) -> int:
    config = parse(argv)
    base, other = fingerprint({}), fingerprint(config)
    differing = sum(a != b for a, b in zip(base["losses"], other["losses"]))
    for label, fp in (("this machine as it is", base), (" ".join(argv), other)):
        print(f"{label:<44} capability {fp['capability']:<8} threads {fp['threads']}  "
              f"loss after 20 steps {float.fromhex(fp['losses'][-1])!r}")
    if differing:
        print(f"the configuration changes the floats: {differing} of {len(base['losses'])} losses differ in their bits")
        return 0
    print("the configuration computes bit-identical floats on this machine, so a test run under it proves nothing "
          "about portability: choose another one (e.g. OMP_NUM_THREADS=3 or ATEN_CPU_CAPABILITY=avx2)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
