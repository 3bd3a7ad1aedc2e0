"""Code: the coders that turn units into codings.

- :mod:`~coding.coders.dictionary` (``auto``) with its
  :mod:`~coding.coders.prefilter`: the codebook's terms and patterns;
- :mod:`~coding.coders.learn` (``learned``) and :mod:`~coding.coders.training`:
  a model trained on people's coding; :mod:`~coding.coders.suggest` ranks units
  for people to code next;
- :mod:`~coding.coders.mentions` (``mentions``) with
  :mod:`~coding.coders.mention_training` (from :mod:`~coding.coders.mention_labels`,
  :mod:`~coding.coders.mention_design` and :mod:`~coding.coders.mention_protocol`)
  and :mod:`~coding.coders.language_id`: each mention read in its context;
- :mod:`~coding.coders.coder_choice`: a coder by name;
  :mod:`~coding.coders.provenance`: which units a coder was fitted to.
"""
