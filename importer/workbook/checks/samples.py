"""Lab results checked within and across their sheets (`measurement_locations`, `samples`, `sample_values`; the
coordinates, enums and units are checked by the schema): a sample taken from at most one production batch, storage
location, measurement location or feedstock batch (each a ref of its sheet or an ID, checked with every reference); a
sample with no values (a warning: nothing would bind to it); a production-batch sample that names no batch (a
warning). Binding a sample's replicates to a scalar input is refused online (`importer.online`), where the
blueprint's shape is known."""

from __future__ import annotations

from collections import Counter

from importer.workbook import spec
from importer.workbook.checks.base import Checks


class SampleChecks(Checks):
    """The measurement locations, samples and their values checked."""

    def check_samples(self) -> None:
        samples = self.rows("samples")
        if not samples:
            return
        for rec in samples:
            row = rec["row"]
            given = [t for t in spec.SAMPLE_TARGETS if rec.get(t) is not None]
            for extra in given[1:]:
                self.error(
                    "sample_targets",
                    f"a sample is taken from at most one of {', '.join(spec.SAMPLE_TARGETS)}; this row gives "
                    f"{' and '.join(given)}: keep the one the lab sampled, and make another sample for the other",
                    sheet="samples",
                    row=row,
                    column=extra,
                    value=rec.get(extra),
                )
            if rec.get("measurement_type") == "biochar_production_batch" and not given:
                self.warn(
                    "sample_without_batch",
                    "a biochar_production_batch sample names no production batch: the report cannot tie its "
                    "values to the biochar they describe",
                    sheet="samples",
                    row=row,
                    column="production_batch",
                )
        counted = Counter(rec.get("sample") for rec in self.rows("sample_values"))
        for rec in samples:
            if not counted.get(rec["ref"]):
                self.warn(
                    "sample_without_values",
                    f"sample {rec['ref']!r} has no row on the sample_values sheet: it would be created empty, and "
                    "nothing can bind to it",
                    sheet="samples",
                    row=rec["row"],
                    column="ref",
                    value=rec["ref"],
                )


__all__ = ["SampleChecks"]
