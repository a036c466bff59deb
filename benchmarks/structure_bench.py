"""The ground state level by level: the contacts per dimension ``c_r`` and their ``r → ∞`` limit.

For the injectivity threshold (``κ = 0``) and the zero-energy line at several ``κ > 0``, levels
``0 … R`` are solved and their structure taken (:func:`jaxcap._src.structure_limits.structure_sequence`);
``c_∞`` comes with its error bar (:func:`jaxcap._src.structure_limits.contacts_limit`).  The density of
``u*`` just below ``κ`` (the gaps ``g = κ − u``) is recorded at every level of the zero-energy line,
for comparison with the jamming law ``g^{−γ}``, ``γ = 0.41269``.  JSON goes to
``benchmarks/results/structure-cpu.json``::

    python benchmarks/structure_bench.py                       # R = 6, kappa 0 and the line at 0.25, 0.5, 1
    python benchmarks/structure_bench.py --max-level 4 --sat-kappas 0.5
    python benchmarks/structure_bench.py --from-frsb benchmarks/results/frsb-levels-30-cpu.json
    python benchmarks/structure_bench.py --max-level 1 --sat-kappas --out FILE   # the smallest run

With ``--from-frsb FILE`` no solve is run: the structure of every verified threshold stored in a
``jaxcap frsb --json`` output is taken (levels 0–30 at ``κ = 0`` in the stored run), and ``c_r`` is
extrapolated over all of them; JSON to ``benchmarks/results/structure-frsb-cpu.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

#: The smallest run (``tests/test_benchmark_scripts.py``): levels 0 and 1 of the threshold at ``κ = 0``.
SMALLEST = ["--max-level", "1", "--sat-kappas", "--out", "{out}"]

#: Gaps ``g = κ − u`` at which the density of ``u*`` is recorded.
GAPS = np.geomspace(1e-3, 1.0, 13)


def _row(seq, seconds: float) -> dict:
    out = seq.to_json()
    out["seconds"] = seconds
    out["alpha_positive"] = [s.alpha_positive for s in seq.structures]
    out["fraction_sums"] = [sum(s.fractions.values()) for s in seq.structures]
    return out


def _gaps(seq) -> list:
    """Per level the density of ``u*`` at ``κ − g`` for :data:`GAPS`."""
    from jaxcap._src.structure import structure
    return [{"level": r.level, "gaps": GAPS.tolist(),
             "u_density": structure(r, h=seq.kappa - GAPS).density["u_density"]} for r in seq.results]


def _from_frsb(path: str, out: str) -> int:
    """``c_r`` of the thresholds stored in a ``jaxcap frsb --json`` output, and their limit."""
    import jaxcap  # noqa: F401  (float64)
    from jaxcap._src.result import from_json
    from jaxcap._src.structure import structure
    from jaxcap._src.structure_limits import contacts_limit
    data = json.load(open(path))
    rows = []
    for item in data["results"]:
        res = from_json(item)
        t0 = time.perf_counter()
        st = structure(res, h=np.array([0.0]))
        rows.append({"level": st.level, "alpha": st.alpha, "contacts_per_dimension": st.contacts_per_dimension,
                     "fractions": st.fractions, "alpha_positive_minus_1": st.alpha_positive - 1.0,
                     "seconds": time.perf_counter() - t0})
        print(f"  level {st.level}: c = {st.contacts_per_dimension:.9f}  alpha*P(pos) - 1 = "
              f"{st.alpha_positive - 1.0:.1e}  ({rows[-1]['seconds']:.1f} s)", flush=True)
        levels, contacts = [r["level"] for r in rows], [r["contacts_per_dimension"] for r in rows]
        fits = {}
        for top in (6, 10, 15, 20, 30):
            if levels[-1] >= top:
                fits[str(top)] = contacts_limit(levels[:top + 1], contacts[:top + 1])
        payload = {"source": os.path.relpath(path, os.path.dirname(HERE)), "kappa": data["kappa"],
                   "machine": platform.platform(), "levels": rows, "fits_by_last_level": fits}
        with open(out, "w") as fh:
            json.dump(payload, fh, indent=1)
    for top, fit in fits.items():
        print(f"levels up to {top}: c_inf = {fit['contacts_per_dimension_inf']:.7f} +- "
              f"{fit['contacts_per_dimension_inf_err']:.1e} (p = {fit['p']:.2f})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-level", type=int, default=6)
    parser.add_argument("--threshold-kappas", type=float, nargs="*", default=[0.0])
    parser.add_argument("--sat-kappas", type=float, nargs="*", default=[0.25, 0.5, 1.0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--from-frsb", default=None, metavar="FILE")
    args = parser.parse_args(argv)
    if args.from_frsb:
        return _from_frsb(args.from_frsb, args.out or os.path.join(HERE, "results", "structure-frsb-cpu.json"))
    args.out = args.out or os.path.join(HERE, "results", "structure-cpu.json")
    import jaxcap  # noqa: F401  (float64)
    from jaxcap._src.structure_limits import structure_sequence

    def log(res, st):
        print(f"  level {st.level}: alpha = {st.alpha:.10f}  c = {st.contacts_per_dimension:.8f}  "
              f"alpha*P(pos) - e = {st.alpha_positive - st.energy:.1e}", flush=True)

    payload = {"machine": platform.platform(), "cpus": os.cpu_count(), "max_level": args.max_level,
               "threshold": [], "sat": []}
    for kind, kappas in (("threshold", args.threshold_kappas), ("sat", args.sat_kappas)):
        for k in kappas:
            print(f"{kind} kappa = {k}", flush=True)
            t0 = time.perf_counter()
            seq = structure_sequence(args.max_level, k, sat=kind == "sat", progress=log)
            row = _row(seq, time.perf_counter() - t0)
            if kind == "sat":
                row["gap_density"] = _gaps(seq)
            fit = row.get("fit", {})
            print(f"  c_inf = {fit.get('contacts_per_dimension_inf')} +- {fit.get('contacts_per_dimension_inf_err')}"
                  f" ({fit.get('model')}), {row['seconds']:.0f} s", flush=True)
            payload[kind].append(row)
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as fh:
                json.dump(payload, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
