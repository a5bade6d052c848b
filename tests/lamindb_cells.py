"""The CellType records of LaminDB's observed-behaviour notes (name, ontology_id, synonyms),
shared by the curation and search tests so both check against the same oracle."""

OBSERVED_CELLS = [
    ("T cell", "CL:0000084", "T-cell|T lymphocyte|T-lymphocyte"),
    ("B cell", "CL:0000236", "B lymphocyte|B-cell"),
    ("ADGB-DT", "CL:9999999", None),
    ("1st cell", "CL:9999998", None),
    ("NK cell", "CL:0000623", "natural killer cell|NK|shared syn"),
    ("nk cell", "CL:0000624", "shared syn"),
    ("NKT cell", "CL:0000814", "NK"),
]
