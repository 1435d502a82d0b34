"""Gaussian Cox process BO: find where point events are densest by looking at a few windows.

Numpy/scipy only (no torch). Runs in a few seconds.
"""

import numpy as np

import optkit
from optkit.bayesopt.coxbo import fit_intensity
from optkit.bayesopt.coxbo_problem import quakes, synthetic

if __name__ == "__main__":
    # 1. a synthetic process with a known intensity (peak at (0.7, 0.3)): 15 windows of radius 0.08
    problem = synthetic("bumps2d", n_events=1000, radius=0.08, seed=0)
    res = optkit.make("coxbo", problem.space, radius=0.08, seed=0).minimize(problem, 15)
    print(f"synthetic: the model's peak {np.round(res.x_intensity_max, 3)} (truth (0.7, 0.3)), "
          f"having seen {res.n_events_seen} of {problem.n_events} events")

    # 2. ask/tell by hand: the events in each window go to tell_events (tell() carries one number)
    opt = optkit.make("coxbo", problem.space, radius=0.08, seed=1, batch=2)
    for _ in range(6):
        X = opt.ask()                                        # two window centres
        opt.tell_events(X, [problem.observe(x) for x in X])  # what each window revealed
    x, lam = opt.best_predicted()
    print(f"ask/tell: densest point so far {np.round(x, 3)}, posterior mean intensity {lam:.0f} per unit area")

    # 3. real events: R's quakes (1000 earthquakes near Fiji), longitude x latitude
    q = quakes(radius=0.1)
    fit = fit_intensity(q.events, q.space)                   # the whole catalogue, for reference
    res = optkit.make("coxbo", q.space, radius=0.1, seed=0).minimize(q, 15)
    mean, var = fit.intensity(res.x_intensity_max[None, :])
    print(f"quakes: after 15 windows the model's peak is at long {res.x_intensity_max[0]:.2f}, "
          f"lat {res.x_intensity_max[1]:.2f}; the full-data fit puts {mean[0]:.1f} +- {np.sqrt(var[0]):.1f} events per square degree there")
