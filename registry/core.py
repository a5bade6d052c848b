"""The core registries: User, ULabel, Transform, Run, Artifact (fields as on LaminDB's pages)."""

from __future__ import annotations

from .errors import FieldValidationError, InvalidArgument, ValidationError
from .fields import DateTime, ForeignKey, Integer, ManyToMany, String
from .record import Record


class User(Record):
    """Users. One local user is created when an instance is first opened (``ln.settings.user``).

    >>> ln.User.get(handle="testuser1")  # doctest: +SKIP
    """

    _name_field = "handle"
    _uid_length = 8
    _has_created_by = False

    handle = String(unique=True, required=True, max_length=30)
    email = String()
    name = String(max_length=150)


class ULabel(Record):
    """Universal labels: free-form categories for artifacts (``ln.ULabel(name="benchmark")``).

    As in LaminDB, constructing a label whose name exists returns the saved label (with a
    message), so ``save()`` adds nothing.

    Examples
    --------
    >>> first = ln.ULabel(name="benchmark").save()
    >>> again = ln.ULabel(name="benchmark")
    >>> again == first, again.id == first.id
    (True, True)
    """

    _uid_length = 8
    _return_existing = True

    name = String(unique=True, required=True, max_length=150)
    description = String()
    reference = String(max_length=255)
    reference_type = String(max_length=25)


TRANSFORM_KINDS = ("pipeline", "notebook", "script", "function")  # LaminDB 2.x's TransformKind


class Transform(Record):
    """A notebook, script, pipeline or function that produces artifacts (LaminDB 2.x's fields).

    ``key`` is a name or a "/"-separated path (no ``.``/``..`` segments, no backslashes);
    ``kind`` is one of ``"pipeline"`` (default), ``"notebook"``, ``"script"``, ``"function"``.
    LaminDB's older keywords ``type=`` and ``version=`` are accepted for ``kind`` and
    ``version_tag``. A transform with the same key (and the same ``version_tag`` when one is
    given) is returned instead of a new one.

    Examples
    --------
    >>> t = ln.Transform(key="pipelines/qc.py", kind="script", version_tag="1.0").save()
    >>> ln.Run(t).save().transform == t
    True
    >>> ln.Transform(key="pipelines/qc.py", version_tag="1.0") == t
    True
    """

    _name_field = "key"
    _uid_length = 16
    _return_existing = True

    key = String(required=True, max_length=1024)
    description = String()
    kind = String(default="pipeline", max_length=20)
    version_tag = String(max_length=30)
    source_code = String()
    reference = String(max_length=255)
    reference_type = String(max_length=25)

    def __init__(self, *args, **kwargs):
        for old, new in (("type", "kind"), ("version", "version_tag")):
            if old in kwargs:
                if new in kwargs:
                    raise InvalidArgument(f"Transform() got both {old}= and {new}=; {old}= is LaminDB's older name")
                kwargs[new] = kwargs.pop(old)
        kind = kwargs.get("kind")
        if kind is not None and kind not in TRANSFORM_KINDS:
            raise FieldValidationError(
                f"kind: {kind!r} is not a valid value. Valid values are: {', '.join(sorted(TRANSFORM_KINDS))}"
            )
        key = kwargs.get("key")
        if isinstance(key, str):
            check_key(key)
        super().__init__(*args, **kwargs)

    @classmethod
    def _existing_match(cls, values: dict) -> dict | None:
        if not isinstance(values.get("key"), str):
            return None
        if "version_tag" in values:
            # an explicit version: the same key and version; version_tag=None: always a new record
            return {"key": values["key"], "version_tag": values["version_tag"]} if values["version_tag"] else None
        return {"key": values["key"]}


def check_key(key: str) -> None:
    """Refuse keys that are not plain "/"-separated paths (LaminDB's ``check_key``)."""
    if "\\" in key:
        raise ValidationError(f"Backslashes are not allowed in key {key!r}; use '/' to separate parts")
    for segment in key.split("/"):
        if segment in (".", ".."):
            raise ValidationError(f"Relative path segment {segment!r} in key {key!r}; give the path without it")


class Run(Record):
    """One execution of a transform."""

    _name_field = "reference"
    _uid_length = 16
    _positional = ("transform",)  # ln.Run(transform), as LaminDB

    transform = ForeignKey("Transform", related_name="runs", on_delete="CASCADE")  # as LaminDB: runs go with it
    started_at = DateTime()
    finished_at = DateTime()
    reference = String(max_length=255)


class Artifact(Record):
    """A dataset or file, with labels (``artifact.ulabels.add(label)``)."""

    _name_field = "key"
    _uid_length = 20

    key = String()
    description = String()
    suffix = String(max_length=30)
    size = Integer()
    hash = String(max_length=86)
    run = ForeignKey("Run", related_name="output_artifacts")
    ulabels = ManyToMany("ULabel", related_name="artifacts")
