"""The record floor: registries' declaration, records, lazy rows, persistence, query sets, relations.

Above the model map (``registry.model_map``, ``fields``, ``schema``) and below curation and search,
which add their methods through ``registry.record``. Modules, bottom to top (a contract in
pyproject.toml keeps the order): ``rows`` < ``declaration`` < ``describe`` < ``integrity`` <
``existing`` < ``persistence`` < ``queryset`` < ``related`` < ``record`` < ``source``.
"""
