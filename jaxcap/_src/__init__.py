"""jaxcap's implementation modules, in the order the data flows (the public API is :mod:`jaxcap`).

* ``quadrature``, ``leaf``, ``potential``: Gauss–Hermite nodes, the count's closed-form leaf and
  innermost level, piecewise-quadratic potentials;
* ``grid``, ``tensor``, ``engine``: the two engines of the outer mean ``G`` and the ``Engine`` protocol;
* ``params``, ``functional``: the coordinates and the level-``r`` functional ``E_r = S − αG``;
* ``solver``, ``compilation``, ``traced``: ascent, Newton polish and measurement of an objective, and
  how their programs are compiled and kept;
* ``measurement``, ``status``, ``guards``, ``validation``: the verdict, the one enumeration of outcomes,
  the resource limits and the one check of every argument;
* ``driver``: the one host driver of a level solve over an objective record;
* ``threshold``, ``zero_energy``: the objectives (threshold, energy, zero-energy line) and their chains;
* ``sweep``, ``sensitivity``: batched (vmapped, chunked and resumable) and traced (``jax.jit``/``vmap``/``grad``)
  solves;
* ``frsb``, ``extrapolation``: the ``r → ∞`` limit;
* ``structure``, ``structure_limits``: the ground state the solution describes, and its limits;
* ``temperature``, ``finite``, ``finite_threshold``, ``euler``: finite temperature, finite size, and the
  Euler-characteristic prediction;
* ``result``, ``checkpoint``, ``bench``, ``precision``: what every solve returns, resumable files, the
  benchmark suite, float64;
* ``api``: the public single solves.
"""
