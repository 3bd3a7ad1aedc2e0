"""Agree: how far coders agree, where they differ, and whether the coding is reliable.

- :mod:`~coding.agreement.ratings`: reliability data (coders x units) read
  and checked.
- :mod:`~coding.agreement.alpha`: Krippendorff's alpha, the one
  implementation every other module calls (with a closed form for two
  coders' 0/1 data), and its reading.
- :mod:`~coding.agreement.coefficients`: the other coefficients on plain
  data (percent agreement, kappas, Brennan-Prediger, AC1, precision and
  recall); pure statistics.
- :mod:`~coding.agreement.bootstrap`: bootstrap intervals of alpha.
- :mod:`~coding.agreement.tables`: the agreement table of presence data,
  every coefficient per item and pooled.
- :mod:`~coding.agreement.audit`: agreement tables, disagreements and
  adjudication over the store.
- :mod:`~coding.agreement.validation`: an automatic coder against a person.
- :mod:`~coding.agreement.unitized` and :mod:`~coding.agreement.span_agreement`:
  unitized agreement of codings as spans.

The coefficients, intervals and tables are importable from here as well
(``from coding.agreement import krippendorff_alpha``).
"""

from coding.agreement import bootstrap, coefficients, tables
from coding.agreement.bootstrap import *  # noqa: F403
from coding.agreement.coefficients import *  # noqa: F403
from coding.agreement.tables import *  # noqa: F403

__all__ = [*coefficients.__all__, *bootstrap.__all__, *tables.__all__]
