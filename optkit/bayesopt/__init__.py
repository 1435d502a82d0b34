"""Bayesian optimization: GP models, acquisition functions and the BO optimizers.

* :mod:`optkit.bayesopt.models`: the GP surrogate (fit, predict, sample, sample paths, condition);
* :mod:`optkit.bayesopt.acquisition`: acquisition functions and their mixed-space optimizer;
* :mod:`optkit.bayesopt.bo`: GP-BO, registered as ``"bo"``;
* :mod:`optkit.bayesopt.pibo`: piBO (prior-weighted acquisition), registered as ``"pibo"``.

These modules import torch (the ``bo`` extra); ``import optkit`` does not import them. Reach the
optimizers through ``optkit.make("bo", ...)`` / ``optkit.minimize(..., method="bo")``.
"""
