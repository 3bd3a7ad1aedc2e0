"""coding: reproducible qualitative content analysis.

Documents are read and segmented into units, units are coded against a
codebook (automatically and by human coders, each coding with its evidence),
and the store feeds reports, an inter-coder agreement audit and exports.
"""

__version__ = "0.1.0"
