"""The sub-commands of ``coding``, one module per stage: each adds its
commands to the parser (``add_commands``) and holds their handlers, thin
layers over the library; :mod:`coding.cli` puts them together."""
