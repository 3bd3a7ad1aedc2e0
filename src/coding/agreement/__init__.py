"""Agree: how far coders agree, where they differ, and whether the coding is reliable.

- :mod:`~coding.agreement.coefficients`: the coefficients on plain data
  (Krippendorff's alpha, kappas, AC1, bootstrap intervals); pure statistics,
  the one implementation every other module calls.
- :mod:`~coding.agreement.audit`: agreement tables, disagreements and
  adjudication over the store.
- :mod:`~coding.agreement.validation`: an automatic coder against a person.
- :mod:`~coding.agreement.unitized` and :mod:`~coding.agreement.span_agreement`:
  unitized agreement of codings as spans.

The coefficients are importable from here as well (``from coding.agreement
import krippendorff_alpha``).
"""

from coding.agreement.coefficients import *  # noqa: F403
from coding.agreement.coefficients import __all__  # noqa: F401
