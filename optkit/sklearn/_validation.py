"""scikit-learn's parameter validation, raising optkit errors.

The wrappers declare scikit-learn's ``_parameter_constraints`` (the table that optkit's own
:mod:`optkit.core.params` is modelled on) so that they validate like every scikit-learn estimator;
the error they raise is :class:`ParameterError`, both an :class:`optkit.InvalidParameterError` and
scikit-learn's ``InvalidParameterError`` (so ``except ValueError`` and scikit-learn's own checks keep
working).
"""

from __future__ import annotations

from sklearn.utils._param_validation import InvalidParameterError as _SkInvalidParameterError

from optkit.core.errors import InvalidParameterError


class ParameterError(InvalidParameterError, _SkInvalidParameterError):
    """A constructor parameter of an optkit scikit-learn wrapper has the wrong type or value."""


class ValidatedMixin:
    """Turns scikit-learn's parameter-validation error into :class:`ParameterError`."""

    def _validate_params(self):
        try:
            super()._validate_params()
        except ParameterError:
            raise
        except _SkInvalidParameterError as exc:
            raise ParameterError(str(exc)) from exc
