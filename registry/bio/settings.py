"""``bt.settings``: the default organism of the organism-aware bio registries (Gene, ...)."""

from __future__ import annotations

from ..errors import InvalidArgument


class BioSettings:
    """``bt.settings.organism = "human"`` makes ``organism=`` optional wherever it is taken."""

    def __init__(self):
        self._organism: str | None = None

    @property
    def organism(self) -> str | None:
        """The default organism name (None: not set; pass ``organism=`` then)."""
        return self._organism

    @organism.setter
    def organism(self, value) -> None:
        if value is not None and not isinstance(value, str):
            value = getattr(value, "name", None)
            if value is None:
                raise InvalidArgument(
                    "bt.settings.organism takes an organism name such as 'human' or an Organism record"
                )
        self._organism = value


settings = BioSettings()
