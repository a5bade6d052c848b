"""The core registries: User, ULabel, Transform, Run, Artifact (fields as on LaminDB's pages)."""

from __future__ import annotations

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
    """Universal labels: free-form categories for artifacts (``ln.ULabel(name="benchmark")``)."""

    _uid_length = 8

    name = String(unique=True, required=True, max_length=150)
    description = String()
    reference = String(max_length=255)
    reference_type = String(max_length=25)


class Transform(Record):
    """A notebook, script or pipeline step that produces artifacts."""

    _name_field = "key"
    _uid_length = 16

    key = String(required=True)
    description = String()
    type = String(default="pipeline", max_length=20)
    version = String(max_length=30)
    reference = String(max_length=255)


class Run(Record):
    """One execution of a transform."""

    _name_field = "reference"
    _uid_length = 16

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
