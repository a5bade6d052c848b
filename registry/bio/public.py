"""A public reference (``bt.CellType.public()``) and the public-aware ``standardize``.

``PublicReference`` wraps one parsed source frame and answers with the same pure matchers the
registries use (``registry.curate``), so a synonym, a casing variant or an id spelled
``CL_0000084`` resolves the same way in the source as in the registry. Obsolete terms are kept
out of validation; ``inspect`` and ``standardize`` report them with their replacement.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .. import curate
from ..curate.attribute_lookup import lookup_keys
from ..curate.inputs import as_values
from ..curate.matching import ReferenceIndex, Tier, encode, match_encoded
from ..curate.reporting import MAX_LITERAL
from ..curate.scope import resolve
from ..curate.standardization import StandardizeOutcome, standardize_values
from ..curate.standardization import _log as registry_log
from ..curate.validation import inspect_values, validate, validate_values
from ..errors import InvalidArgument, SourceNotAvailable, did_you_mean
from ..fields import field_name
from ..logging import logger
from ..records.source import as_queryset
from ..search import _rank, resolve_fields
from ..search.candidates import build
from .ids import normalize_ids


class PublicReference:
    """A public source of a bio registry: ``df()``, ``validate``, ``inspect``, ``standardize``,
    ``search``, ``lookup``; nothing here touches the registry."""

    def __init__(self, model, spec, frame: pl.DataFrame):
        self.model = model
        self.source = spec
        self._all = frame
        self._obsolete = frame.filter(pl.col("obsolete")) if "obsolete" in frame.columns else frame.head(0)
        self._frame = frame.filter(~pl.col("obsolete")) if "obsolete" in frame.columns else frame
        self._indexes: dict = {}

    def __repr__(self) -> str:
        s = self.source
        return (
            f"PublicReference(entity='{s.entity}', organism='{s.organism}', name='{s.name}', version='{s.version}', "
            f"terms={self._frame.height}, obsolete={self._obsolete.height})"
        )

    @property
    def entity(self) -> str:
        return self.source.entity

    @property
    def organism(self) -> str:
        return self.source.organism

    @property
    def version(self) -> str:
        return self.source.version

    # -- fields and indexes -------------------------------------------------------------------
    def _field(self, field) -> str:
        name = field_name(field) or self.model._name_field
        if name not in self._frame.columns:
            raise InvalidArgument(
                f"the public {self.model.__name__} source has no field {name!r}; fields: "
                + ", ".join(c for c in self._frame.columns if c != "obsolete")
            )
        return name

    def _is_id(self, field: str) -> bool:
        return field == "ontology_id"

    def _index(self, field: str, synonyms: bool = True) -> ReferenceIndex:
        syn = "synonyms" if synonyms and field == self.model._name_field and "synonyms" in self._frame.columns else None
        key = (field, syn)
        if key not in self._indexes:
            self._indexes[key] = ReferenceIndex(self._frame, field, syn)
        return self._indexes[key]

    def _values(self, values, field: str):
        vals = as_values(values, "str", field_label=f"public {self.model.__name__}.{field}")
        if self._is_id(field) and vals.series.dtype == pl.String:
            import dataclasses

            vals = dataclasses.replace(vals, series=normalize_ids(vals.series), raw=None)
        return vals

    # -- the verbs ---------------------------------------------------------------------------
    def df(self):
        """The current terms as a pandas DataFrame indexed by the source id (bionty's shape)."""
        key = self.model._ontology_id_field
        cols = [c for c in self._frame.columns if c not in ("obsolete", "replaced_by")]
        out = self._frame.select(cols)
        if "parents" in out.columns:
            out = out.with_columns(pl.col("parents").list.join("|"))
        return out.to_pandas().set_index(key)

    def validate(self, values, field=None, *, mute: bool = False) -> np.ndarray:
        """Exact, case-sensitive membership in the source (obsolete terms are not valid)."""
        fname = self._field(field)
        vals = self._values(values, fname)
        flags = validate_values(self._index(fname), vals)
        if not mute and len(vals):
            n_bad = int((~flags).sum())
            if n_bad:
                logger.warning(f"{n_bad} of {len(vals)} values are not in {self._label()} for {fname}")
        return flags[0] if vals.scalar else flags

    def inspect(self, values, field=None, *, mute: bool = False):
        """An InspectResult against the source; obsolete terms are reported with their replacement."""
        fname = self._field(field)
        vals = self._values(values, fname)
        index = self._index(fname)
        result = inspect_values(index, vals, synonyms=index.synonyms_field is not None, uid_column=None)
        if not mute:
            n_bad = len(result.non_validated)
            logger.print(
                f"{len(result.validated)} of {result.n_unique} unique terms are validated in {self._label()} for {fname}"
                + (f"; {n_bad} are not: {result.non_validated[:10]}" if n_bad else "")
            )
            self._report_obsolete(result.unmatched, fname)
        return result

    def standardize(
        self,
        values,
        field=None,
        *,
        return_field=None,
        return_mapper: bool = False,
        case_sensitive: bool = False,
        keep="first",
        synonyms_field: str | None = "synonyms",
        mute: bool = False,
    ):
        """Map synonyms, casing variants and id spellings to the source's names (or ``return_field``)."""
        fname = self._field(field)
        ret = self._field(return_field) if return_field is not None else None
        vals = self._values(values, fname)
        index = self._index(fname, synonyms=bool(synonyms_field))
        out = standardize_values(
            index,
            vals,
            return_field=ret,
            return_mapper=return_mapper,
            case_sensitive=case_sensitive,
            keep=keep,
            synonyms=index.synonyms_field is not None,
        )
        if not mute and out.n_unmapped:
            logger.warning(f"{out.n_unmapped} terms not found in {self._label()}: {out.unmapped[:10]}")
            self._report_obsolete(out.unmapped, fname)
        return out.result

    def search(self, string: str, *, field=None, limit: int | None = None, case_sensitive: bool = False):
        """Ranked hits (pandas, with a ``score`` column), as ``Registry.search``; an id in any
        spelling finds its term."""
        if not isinstance(string, str):
            raise InvalidArgument(f"search takes a string, got {type(string).__name__}")
        string = normalize_ids(pl.Series([string])).item()
        frame = (
            self._frame.with_columns(pl.col("parents").list.join("|"))
            if "parents" in self._frame.columns
            else self._frame
        )
        roles = [r for r in resolve_fields(self.model, field) if r.name in frame.columns]
        cache = self._indexes.setdefault(("search", tuple(roles), case_sensitive), build(frame, roles, case_sensitive))
        rows, scores = _rank.rank(cache, string, limit=limit)
        hits = frame[pl.Series(rows, dtype=pl.Int64)].with_columns(pl.Series("score", scores))
        return hits.drop([c for c in ("obsolete", "replaced_by") if c in hits.columns]).to_pandas()

    def lookup(self, field=None, return_field=None):
        """Attribute access to terms by normalised name: ``public.lookup().t_cell``."""

        fname = self._field(field)
        keys = lookup_keys(self._frame.get_column(fname), "bt")
        frame = self._frame.with_columns(keys.alias("__key")).filter(pl.col("__key").is_not_null())
        frame = frame.unique("__key", keep="first", maintain_order=True)
        return PublicLookup(frame, self._field(return_field) if return_field else None)

    # -- helpers for the registry verbs -------------------------------------------------------------
    def _label(self) -> str:
        s = self.source
        return f"the public source {s.name} {s.version}"

    def _rows_for(self, values: list, field: str) -> np.ndarray:
        """Row of ``self._frame`` per value (exact, casing, synonyms; -1: not found)."""
        fname = self._field(field)
        vals = self._values(values, fname)
        index = self._index(fname)
        enc = encode(vals.series)
        m = match_encoded(index, enc, case_sensitive=False, keep="first", synonyms=index.synonyms_field is not None)
        rows_u = np.where(m.tier != Tier.NONE, m.row, -1)
        codes = enc.codes
        out = np.full(len(codes), -1, dtype=np.int64)
        ok = codes >= 0
        out[ok] = rows_u[codes[ok]]
        return out

    def _build_records(self, rows: np.ndarray, source_id: int, organism_id=None) -> list:
        """Unsaved records for ``rows`` (None for -1); the same row gives the same object."""
        model = self.model
        fields = [c for c in self._frame.columns if c in model._fields and c not in ("parents",)]
        made: dict[int, Any] = {}
        out: list = []
        for r in rows.tolist():
            if r < 0:
                out.append(None)
                continue
            rec = made.get(r)
            if rec is None:
                row = self._frame.row(r, named=True)
                kwargs = {k: row[k] for k in fields if row.get(k) is not None}
                if "source" in model._fields:
                    kwargs["source_id"] = source_id
                if organism_id is not None and "organism" in model._fields:
                    kwargs["organism_id"] = organism_id
                rec = model(**kwargs)
                if row.get("parents"):
                    rec.__dict__["_source_parents"] = list(row["parents"])
                made[r] = rec
            out.append(rec)
        return out

    def _report(self, values: list, field: str, registry_hint: bool = False) -> None:
        """Log which ``values`` the source has, and which are obsolete (with their replacement)."""
        rows = self._rows_for(values, field)
        found = [v for v, r in zip(values, rows.tolist(), strict=True) if r >= 0]
        if found:
            label = f"bt.{self.model.__name__}"
            shown = ", ".join(repr(v) for v in found[:10]) + (", ..." if len(found) > 10 else "")
            logger.print(
                f"   detected {len(found)} {self.model.__name__} term{'s' if len(found) != 1 else ''} in the public source for {field}: {shown}\n"
                f"→  add records from the public source to your registry: "
                f"ln.save({label}.from_values({found[:20]!r}, field={field!r}))"
            )
        self._report_obsolete([v for v, r in zip(values, rows.tolist(), strict=True) if r < 0], field)

    def obsolete_terms(self, values, field=None) -> pl.DataFrame:
        """The obsolete terms among ``values`` with their replacement: value, ontology_id, name,
        replaced_by, replaced_by_name."""
        fname = self._field(field)
        empty = pl.DataFrame(
            schema={
                "value": pl.String,
                "ontology_id": pl.String,
                "name": pl.String,
                "replaced_by": pl.String,
                "replaced_by_name": pl.String,
            }
        )
        if self._obsolete.height == 0 or fname not in self._obsolete.columns:
            return empty
        vals = self._values(values, fname).series.drop_nulls().unique(maintain_order=True)
        q = pl.DataFrame({"value": vals, "__k": vals.str.to_lowercase()})
        obs = self._obsolete.with_columns(pl.col(fname).str.to_lowercase().alias("__k"))
        # obsolete labels are often "obsolete X": match both spellings
        obs2 = obs.with_columns(pl.col("__k").str.replace(r"^obsolete ", ""))
        hits = q.join(pl.concat([obs, obs2]).unique(["__k", "ontology_id"]), on="__k", how="inner")
        names = self._all.select(pl.col("ontology_id").alias("replaced_by"), pl.col("name").alias("replaced_by_name"))
        hits = hits.join(names, on="replaced_by", how="left")
        return hits.select(list(empty.columns)).unique("value", keep="first", maintain_order=True)

    def _report_obsolete(self, values: list, field: str) -> None:
        if not values:
            return
        obs = self.obsolete_terms(values, field)
        for row in obs.head(10).iter_rows(named=True):
            repl = (
                f"replaced by {row['replaced_by']} ({row['replaced_by_name']!r})"
                if row["replaced_by"]
                else "no replacement given"
            )
            logger.warning(f"{row['value']!r} is an obsolete term ({row['ontology_id']}): {repl}")


class PublicLookup:
    """``lookup.t_cell`` -> the term as a named tuple (or its ``return_field`` value)."""

    def __init__(self, frame: pl.DataFrame, return_field: str | None):
        self._keys = dict(zip(frame.get_column("__key").to_list(), range(frame.height), strict=True))
        self._frame = frame.drop("__key")
        self._return = return_field

    def __getattr__(self, key: str):
        if key.startswith("_"):
            raise AttributeError(key)
        i = self._keys.get(key)
        if i is None:
            raise AttributeError(f"no term with key {key!r}{did_you_mean(key, list(self._keys))}")
        row = self._frame.row(i, named=True)
        if self._return is not None:
            return row[self._return]
        from collections import namedtuple

        return namedtuple("Term", list(row))(**row)

    def __dir__(self):
        return list(self._keys)

    def dict(self) -> dict:
        """``{key: term}`` for every key (terms built on call)."""
        return {k: self.__getattr__(k) for k in self._keys}


# -- public-aware standardize ---------------------------------------------------------------------
def standardize_public_aware(
    scope,
    values,
    field=None,
    *,
    return_field=None,
    return_mapper: bool = False,
    case_sensitive: bool = False,
    mute: bool = False,
    public_aware: bool = True,
    keep="first",
    synonyms_field: str = "synonyms",
    organism=None,
    source=None,
):
    """The registry's ``standardize``, then the public source for what the registry lacks.

    Unique values are standardised once against the registry; those that still name no record
    are standardised against the public source (bionty's ``public_aware``); the result is
    broadcast back to the input with one join. ``keep=False`` stays registry-only.
    """
    model = as_queryset(scope).model
    fname = field_name(field) or model._name_field
    is_id = fname == "ontology_id"
    kw = dict(case_sensitive=case_sensitive, keep=keep, synonyms_field=synonyms_field, organism=organism, source=source)
    vals = as_values(values, "str", field_label=f"{model.__name__}.{fname}")
    series = vals.series
    if series.dtype != pl.String:
        return curate.standardize(
            scope, values, field, return_field=return_field, return_mapper=return_mapper, mute=mute, **kw
        )
    norm = normalize_ids(series) if is_id else series
    ret_name = field_name(return_field) if return_field is not None else None
    ret_field = model._fields.get(ret_name) if ret_name else None
    if ret_name and (ret_field is None or getattr(ret_field, "kind", None) != "str"):
        public_aware = False  # ids and other non-text fields exist only in the registry
    if not public_aware or keep is False:
        inp = norm.to_list() if is_id else values
        return curate.standardize(
            scope, inp, fname, return_field=return_field, return_mapper=return_mapper, mute=mute, **kw
        )
    enc = encode(series)  # distinct values and each input's code (one hash pass, as the matchers do)
    if len(enc) == 0:
        return {} if return_mapper else (values if vals.scalar else [None] * len(series))
    order = enc.input_order()  # distinct values in order of first occurrence (logs, mapper order)
    u = enc.values.gather(order)
    un = normalize_ids(u) if is_id else u
    names = pl.Series(curate.standardize(scope, un, fname, mute=True, **kw), dtype=pl.String)
    in_reg = np.asarray(validate(scope, names, fname, mute=True, organism=organism), dtype=bool)
    if return_field is not None:
        out = pl.Series(curate.standardize(scope, un, fname, return_field=return_field, mute=True, **kw))
    else:
        out = names
    out = out.cast(pl.String)
    ok = in_reg.copy()
    from_public: list = []
    if (~in_reg).any():
        try:
            pub = model.public(organism=organism, source=source)
        except SourceNotAvailable:
            pub = None
        if pub is not None:
            miss = np.flatnonzero(~in_reg)
            pv = un.gather(miss)
            p_names = pl.Series(
                pub.standardize(
                    pv, fname, case_sensitive=case_sensitive, keep=keep, synonyms_field=synonyms_field, mute=True
                ),
                dtype=pl.String,
            )
            p_ok = np.asarray(pub.validate(p_names, fname, mute=True), dtype=bool)
            if return_field is not None:
                p_out = pl.Series(
                    pub.standardize(
                        pv, fname, return_field=return_field, keep=keep, synonyms_field=synonyms_field, mute=True
                    )
                ).cast(pl.String)
            else:
                p_out = p_names
            hit = miss[p_ok]
            if len(hit):
                out = out.scatter(hit, p_out.gather(np.flatnonzero(p_ok)))
                ok[hit] = True
                from_public = u.gather(hit).to_list()
            if not mute:
                pub._report_obsolete(u.gather(miss[~p_ok]).to_list(), fname)
    # unmatched values come back as the user wrote them
    final = np.where(ok, out.to_numpy(), u.to_numpy())
    changed = final != u.to_numpy()
    if not mute:
        codes = enc.codes
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))  # hash-order index -> first-occurrence index
        counts = np.bincount(rank[codes[codes >= 0]], minlength=len(order))
        n_changed = int(counts[changed].sum())
        _log(scope, fname, len(series) - series.null_count(), n_changed, u, ok, from_public, return_field, keep)
    if return_mapper:
        sel = np.flatnonzero(changed)
        return dict(zip(u.gather(sel).to_list(), final[sel].tolist(), strict=True))
    per_value = np.empty(len(order) + 1, dtype=object)
    per_value[order] = final  # back to hash order, which the codes index
    per_value[-1] = None
    result = per_value[np.where(enc.codes >= 0, enc.codes, len(order))]
    return result[0] if vals.scalar else result.tolist()


def _log(
    scope,
    field: str,
    n_values: int,
    n_changed: int,
    u: pl.Series,
    ok: np.ndarray,
    from_public: list,
    return_field,
    keep,
) -> None:
    """The registry's standardize log lines (counts over all inputs), plus what came from the source."""

    bad = u.filter(pl.Series(~ok) & (u != "")).to_list()
    outcome = StandardizeOutcome(
        result=None,
        n_values=n_values,
        n_changed=n_changed,
        unmapped=bad[: MAX_LITERAL + 1],
        n_unmapped=len(bad),
    )
    sc = resolve(scope)
    model = sc.model
    n_ref = sc.frame.height or len(from_public)
    registry_log(outcome, sc, field, field_name(return_field) if return_field else None, keep, n_ref)
    if from_public:
        label = f"bt.{model.__name__}"
        shown = ", ".join(repr(v) for v in from_public[:10]) + (", ..." if len(from_public) > 10 else "")
        logger.warning(
            f"found {len(from_public)} term{'s' if len(from_public) != 1 else ''} in the public source: {shown}\n"
            f"→  add the corresponding {model.__name__} records: ln.save({label}.from_values(values, field={field!r}))"
        )
