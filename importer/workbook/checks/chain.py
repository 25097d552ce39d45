"""The chain of custody checked within and across its sheets (`production_batches`, `biochar_applications`; the
storage locations' coordinates are range-checked by the schema): units of mass and of mass per area, a batch's
start and end (after, and less than a month later), its facility, a truck's departure mass at most its arrival
mass, an application dated before its batch's production ended, batches no application cites, and an entry's
biochar mass beside the net mass of the applications that name it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Unpack

from importer.ids import has_id_prefix, id_kind
from importer.units import UnitError, canonical_unit, kg_factor, measures
from importer.workbook import spec
from importer.workbook.checks.base import Checks, Place
from importer.workbook.spec import holds_biochar_mass

#: how far an entry's biochar mass may differ from its applications' net mass before a warning (rounding)
_MASS_TOLERANCE = 0.005


def _month_later(start: dt.datetime) -> dt.datetime:
    """The same day and time one calendar month later (the month's last day when it has no such day)."""
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    for day in (start.day, 30, 29, 28):
        try:
            return start.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")  # pragma: no cover


class ChainChecks(Checks):
    """The production batches and biochar applications checked."""

    def check_chain(self) -> None:
        if not self._has_rows("production_batches") and not self._has_rows("biochar_applications"):
            return
        self._check_batches()
        self._check_applications()

    def _has_rows(self, name: str) -> bool:
        sheet = self.sheets.get(name)
        return sheet is not None and bool(sheet.rows)

    def _fine(self, sheet: str, row: int, *columns: str) -> bool:
        return not any((sheet, row, c) in self.bad_cells for c in columns)

    def check_unit_measures(self) -> None:
        """Each cell of a unit column declared to measure something (`Column.measures`: a batch's mass, an
        application's rate) parses and measures it; accepted spellings become canonical."""
        for name, sheet in self.sheets.items():
            if not sheet.rows:
                continue
            for col in sheet.spec.columns:
                if col.measures is not None and col.name in sheet.records:
                    self._check_measures(name, col.name, col.measures)

    def _check_measures(self, name: str, column: str, base: str) -> None:
        expected = spec.MEASURES[base]
        sheet = self.sheets[name]
        values = sheet.records[column]
        for i, (row, unit) in enumerate(zip(sheet.rows, values, strict=True)):
            if not isinstance(unit, str) or not self._fine(name, row, column):
                continue
            try:
                canonical = canonical_unit(unit).canonical
            except UnitError as exc:
                self.error(exc.code, f"{exc}; expected {expected}", sheet=name, row=row, column=column, value=unit)
                continue
            if not measures(canonical, base):
                self.error(
                    "incompatible_unit",
                    f"found {unit!r}, expected {expected}",
                    sheet=name,
                    row=row,
                    column=column,
                    value=unit,
                )
                continue
            values[i] = canonical

    def _facility_ok(self, value: object, **where: Unpack[Place]) -> bool:
        if not isinstance(value, str) or id_kind(value) == "facility":
            return True
        self.error(
            "bad_id",
            f"found {value!r}, expected a facility ID: fcl_ and 16-33 letters or digits (20-37 characters), copied "
            "from the Certify UI",
            value=value,
            **where,
        )
        return False

    def _check_batches(self) -> None:
        default_facility = self.project.get("facility_id")
        if default_facility is not None and "facility_id" in self.project_rows:
            self._facility_ok(
                default_facility, sheet="project", row=self.project_rows["facility_id"], column="facility_id"
            )
        for rec in self.rows("production_batches"):
            row = int(rec["row"])
            if self._fine("production_batches", row, "facility_id"):
                self._facility_ok(rec.get("facility_id"), sheet="production_batches", row=row, column="facility_id")
            start, end = rec["started_at"], rec["ended_at"]
            if (
                start is not None
                and end is not None
                and self._fine("production_batches", row, "started_at", "ended_at")
            ):
                if end <= start:
                    self.error(
                        "date_order",
                        f"found an end at {end:%Y-%m-%d %H:%M}, expected after the start ({start:%Y-%m-%d %H:%M} "
                        "in started_at)",
                        sheet="production_batches",
                        row=row,
                        column="ended_at",
                        value=f"{end:%Y-%m-%d %H:%M}",
                    )
                elif end >= _month_later(start):
                    self.error(
                        "batch_too_long",
                        f"found {end:%Y-%m-%d %H:%M}, {(end - start).days} days after the start; expected before "
                        f"{_month_later(start):%Y-%m-%d %H:%M}: Isometric's biochar requirements keep a production "
                        "batch under one month, so split it into two batches",
                        sheet="production_batches",
                        row=row,
                        column="ended_at",
                        value=f"{end:%Y-%m-%d %H:%M}",
                    )
            if (
                rec.get("facility_id") is None
                and default_facility is None
                and self._fine("production_batches", row, "facility_id")
            ):
                self.error(
                    "required",
                    "found no facility: expected the facility's fcl_ ID here, or a default facility_id on the "
                    "project sheet (facilities are made in the Certify UI; no endpoint lists them)",
                    sheet="production_batches",
                    row=row,
                    column="facility_id",
                )

    def _check_applications(self) -> None:
        batches = {rec["ref"]: rec for rec in self.rows("production_batches")}
        cited: set[str] = set()
        net_by_entry: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for rec in self.rows("biochar_applications"):
            row = int(rec["row"])
            arrival, departure = rec["truck_mass_on_arrival"], rec["truck_mass_on_departure"] or 0.0
            if arrival is not None and self._fine(
                "biochar_applications", row, "truck_mass_on_arrival", "truck_mass_on_departure"
            ):
                if departure > arrival:
                    unit = rec["truck_mass_unit"] or ""
                    self.error(
                        "departure_over_arrival",
                        f"found a departure mass of {departure:g} {unit}, expected at most the arrival mass "
                        f"({arrival:g} {unit} in truck_mass_on_arrival): a truck leaves lighter than it came, "
                        "after spreading; check that the two readings are not swapped",
                        sheet="biochar_applications",
                        row=row,
                        column="truck_mass_on_departure",
                        value=departure,
                    )
                elif rec["entry"] and self._fine("biochar_applications", row, "truck_mass_unit", "entry"):
                    unit = rec["truck_mass_unit"]
                    factor = kg_factor(unit) if isinstance(unit, str) else None
                    if isinstance(unit, str) and factor is not None:
                        net_by_entry[rec["entry"]].append(((arrival - departure) * factor, unit))
            batch_ref = rec["production_batch"]
            if isinstance(batch_ref, str):
                cited.add(batch_ref)
            batch = batches.get(batch_ref) if isinstance(batch_ref, str) and not has_id_prefix(batch_ref) else None
            date = rec["application_date"]
            if (
                batch is not None
                and date is not None
                and batch["ended_at"] is not None
                and self._fine("biochar_applications", row, "application_date")
                and self._fine("production_batches", int(batch["row"]), "ended_at")
                and date < batch["ended_at"].date()
            ):
                self.error(
                    "applied_before_produced",
                    f"found {date:%Y-%m-%d}, expected on or after {batch['ended_at']:%Y-%m-%d}, when production of "
                    f"batch {batch_ref!r} ended (production_batches row {batch['row']}): biochar cannot be spread "
                    "before it exists",
                    sheet="biochar_applications",
                    row=row,
                    column="application_date",
                    value=f"{date:%Y-%m-%d}",
                )
        if self._has_rows("biochar_applications"):
            for ref, rec in batches.items():
                if isinstance(ref, str) and ref not in cited:
                    self.warn(
                        "unused",
                        f"production batch {ref!r} is cited by no row of biochar_applications (fine when its "
                        "biochar is still in store)",
                        sheet="production_batches",
                        row=int(rec["row"]),
                        column="ref",
                        value=ref,
                    )
        self._compare_biochar_mass(net_by_entry)

    def _compare_biochar_mass(self, net_by_entry: dict[str, list[tuple[float, str]]]) -> None:
        """A warning naming both figures when an entry's biochar mass input differs from the net mass (arrival
        minus departure) of the applications that name the entry."""
        if not net_by_entry:
            return
        datapoints = {rec["ref"]: rec for rec in self.rows("datapoints")}
        for rec in self.rows("entry_inputs"):
            entry, key = rec["entry_ref"], rec["input_key"]
            if entry not in net_by_entry or not isinstance(key, str):
                continue
            if not holds_biochar_mass(key):
                continue
            refs = rec["datapoint_refs"] or ()
            found = [datapoints.get(r) for r in refs]
            if not found or any(d is None or d["magnitude"] is None or not isinstance(d["unit"], str) for d in found):
                continue  # an existing datapoint's figure is not in the workbook
            factors = [kg_factor(d["unit"]) for d in found if d]
            if None in factors:
                continue  # not a mass: the online check against the blueprint says so
            entry_kg = sum(float(d["magnitude"]) * (f or 0.0) for d, f in zip(found, factors, strict=True) if d)
            applied = net_by_entry[entry]
            applied_kg = sum(kg for kg, _ in applied)
            if abs(entry_kg - applied_kg) <= _MASS_TOLERANCE * max(abs(entry_kg), abs(applied_kg), 1e-9):
                continue
            unit = applied[0][1]
            factor = kg_factor(unit) or 1.0
            self.warn(
                "biochar_mass_differs",
                f"entry {entry!r}'s {key} is {entry_kg / factor:,.6g} {unit}, but the {len(applied)} "
                f"biochar_applications naming it spread a net {applied_kg / factor:,.6g} {unit} (arrival minus "
                "departure): check the datapoint or the truck masses",
                sheet="entry_inputs",
                row=int(rec["row"]),
                column="datapoint_refs",
                value=", ".join(refs),
            )


__all__ = ["ChainChecks"]
