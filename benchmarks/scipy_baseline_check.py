"""Self-check of the SciPy baseline (``jaxcap.scipy_baseline``): levels 0, 1, 2 at kappa = 0
against the published thresholds and the level-0 closed form.

    python benchmarks/scipy_baseline_check.py [--levels 0 1 2]
"""
import argparse
import sys

from jaxcap.scipy_baseline import accuracy_note, functional, rs_closed_form_mean_f0, threshold

#: the smallest run, for the test suite (``tests/test_benchmark_scripts.py``)
SMALLEST = ["--levels", "0"]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--levels", type=int, nargs="+", choices=(0, 1, 2), default=[0, 1, 2])
levels = sorted(set(parser.parse_args().levels))
published = {0: 7.647695, 1: 6.715697}
results = {}
for lvl in levels:
    print(f"level {lvl}: solving for the threshold ...", flush=True)
    res = threshold(lvl, progress=lambda line: print(line, flush=True))
    results[lvl] = res
    p = res["params"]
    d = res["diagnostics"]
    print(f"level {lvl}: alpha = {res['alpha']:.9f}  E = {res['energy']:.12f}  "
          f"time {res['seconds']:.2f} s  ({len(res['evaluations'])} alpha evaluations)")
    print(f"   chi = {p['chi']:.8f}  q = {[round(v, 8) for v in p['q']]}  "
          f"x = {[round(v, 8) for v in p['x']]}")
    print(f"   grad_norm = {d['grad_norm']:.2e}  hessian_max_eig = {d['hessian_max_eig']:.3e}"
          f"  alpha quad error ~ {d['alpha_quad_error']:.1e}")
    if lvl == 2:
        print(f"   E_1 at alpha_2 = {d['level1_energy_at_alpha']:.12f} "
              f"(gain {d['gain_over_level1']:.3e})  gaps = {d.get('gaps')}")
    if lvl in published:
        print(f"   published {published[lvl]}  diff {res['alpha'] - published[lvl]:+.2e}")
    print(f"   note: {accuracy_note(lvl)}", flush=True)

# checks
ok = True
if 0 in results:
    chi0 = results[0]["params"]["chi"]
    cf = rs_closed_form_mean_f0(chi0)
    qd = functional(results[0]["alpha"], 0, chi0)[1]
    print(f"level-0 quad vs erf closed form of E f_0: {qd:.15f} vs {cf:.15f} ({qd - cf:+.1e})")
    ok &= abs(qd - cf) < 1e-10
    ok &= abs(results[0]["alpha"] - 7.647695) <= 2e-6
if 1 in results:
    ok &= abs(results[1]["alpha"] - 6.715697) <= 5e-6
if 2 in results:
    ok &= 6.6980 < results[2]["alpha"] < 6.715697
    ok &= results[2]["diagnostics"]["gain_over_level1"] > 0
    ok &= results[2]["diagnostics"]["non_degenerate"]
ok &= all(results[l]["diagnostics"]["hessian_max_eig"] < 0 for l in levels)
print()
print("level   alpha_r        chi         q                         x                         seconds")
for lvl in levels:
    r = results[lvl]
    p = r["params"]
    print(f"{lvl:>5}   {r['alpha']:.9f}  {p['chi']:.8f}  "
          f"{str([round(v, 6) for v in p['q']]):<24}  {str([round(v, 5) for v in p['x']]):<24}  "
          f"{r['seconds']:8.2f}")
print("SELF-CHECK", "PASSED" if ok else "FAILED")
sys.exit(0 if ok else 1)
