"""The workbook format, declared once.

The validator enforces it, `docs/workbook-format.md` describes it, and the `template` command writes
headers, comments and dropdowns from it. Change a column here and all three follow.

Column types:
- ``str``: text, stripped; ``max_length`` applies.
- ``ref``: a ref of a row of ``ref_sheet`` or an existing Isometric ID of kind ``id_kind``.
- ``refs``: a comma-separated list of such refs/IDs.
- ``enum``: one of ``choices`` (matched case-insensitively, stored upper/lower as listed).
- ``number``: a finite float (numbers stored as text are accepted when unambiguous).
- ``date``: an Excel date, a serial number or ISO ``YYYY-MM-DD`` text.
- ``datetime``: like ``date`` with an optional time; stored as UTC.
- ``bool``: TRUE/FALSE (also yes/no, 1/0).
- ``unit``: a unit pint can parse (see `importer.units`).
- ``file``: a path relative to the workbook's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from importer.measurement_enums import MEASUREMENT_TYPES, QUALIFIERS, QUANTITY_KINDS

DATAPOINT_TYPES = ("CONSTANT", "STANDARD_PUBLISHED_VALUE", "REPORTED", "ASSUMPTION", "DERIVED")
COMPONENT_ACTIONS = ("add", "remove")
#: what a components row is attributed to: one GHG entry (its own row), the whole project, or this statement
COMPONENT_SCOPES = ("entry", "project", "statement")
#: the contract's ProjectComponentAmortizationStrategy
ALLOCATION_STRATEGIES = (
    "ESTIMATED_PROJECT_REMOVAL_TONNAGE",
    "MANUAL",
    "CUSTOM_TIME_PERIOD",
    "ESTIMATED_PROJECT_LIFETIME",
    "ESTIMATED_PROJECT_REDUCTION_TONNAGE",
)

#: Source file types the API accepts (API-NOTES.md, "Sources"): extension -> Content-Type.
CONTENT_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".heic": "image/heic",
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: what a `unit` column may be declared to measure (`Column.measures`), as its findings say it
MEASURES: dict[str, str] = {
    "mass": "a unit of mass (t, kg, lb)",
    "mass per area": "a unit of mass per area (t/ha, kg/m2)",
}
MAX_SOURCE_BYTES = 50_000_000
NAME_MAX = 100  # display_name, supplier_reference_id, feedstock type name
DESCRIPTION_MAX = 500  # CreateDatapointRequest.description: "Must be at most 500 characters long."
REPORT_URL_MAX = 2048  # ghg_statement_report_url of (Re)SubmitGhgStatementRequest


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    description: str = ""
    example: str = ""
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    ref_sheet: str | None = None
    id_kind: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    default: object = None
    also_sheets: tuple[str, ...] = ()  # a `ref`/`refs` column: further sheets whose refs it accepts
    measures: str | None = None  # a `unit` column: what its unit must measure (a key of `MEASURES`)
    #: the live document's field it is sent as ("Schema.property"), whose limits it must hold: declared by the
    #: sheets kinds declare themselves (the format's own are mapped by the contract tests)
    sent_as: str | None = None


@dataclass(frozen=True)
class Sheet:
    name: str
    description: str
    columns: tuple[Column, ...]
    required: bool = True
    key_value: bool = False  # the `project` sheet: one setting per row (key, value)
    has_ref: bool = True
    unique: tuple[str, ...] = field(default=("ref", "supplier_reference_id"))
    #: each row is one object the import makes, under the derived reference `<prefix>:<sheet>:<ref>` unless the
    #: row gives its own (`identity.workbook_references`); sources (whose reference carries the file's hash) and
    #: components (whose scope names the segment) say theirs themselves
    makes_objects: bool = False
    #: the typed row each of its rows becomes (a dataclass whose fields after `row` are the columns): a sheet a kind
    #: declares itself (`register`), whose rows the planner reads with `Workbook.rows_of(row_type)`
    row_type: type | None = None

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


def srid_column(sent_as: str | None = None) -> Column:
    return Column(
        "supplier_reference_id",
        "str",
        max_length=NAME_MAX,
        description="Your own unique key for this object in Isometric. Leave empty to have one derived "
        "from the prefix, sheet and ref (stable across runs).",
        example="acme-2026-10-dp-moisture",
        sent_as=sent_as,
    )


def mass_columns(description: str, *, example: str, deviation: str) -> tuple[Column, Column, Column]:
    """A mass as three columns, sent as the document's ScalarQuantity: `mass` (above zero), its `unit` (a unit of
    mass) and its `standard_deviation` (optional, in that unit)."""
    return (
        Column(
            "mass", "number", required=True, minimum=0, exclusive_minimum=True, example=example, description=description
        ),
        Column("unit", "unit", required=True, example="t", description="A unit of mass: t, kg, lb...", measures="mass"),
        Column("standard_deviation", "number", minimum=0, example=deviation, description="In the mass's unit."),
    )


PROJECT = Sheet(
    "project",
    "Key/value settings of this import: column A the key, column B the value.",
    (
        Column(
            "project_id",
            "ref",
            required=True,
            id_kind="project",
            example="prj_1SBXBIOCHAR00001",
            description="The Isometric project everything is created in.",
        ),
        Column(
            "statement_end_on",
            "date",
            example="2026-10-31",
            description="Inclusive end date of the GHG statement to create; empty: no statement.",
        ),
        Column(
            "submit_statement",
            "bool",
            default=False,
            example="FALSE",
            description="Submit the statement for verification after creating it.",
        ),
        Column(
            "ghg_statement_report_url",
            "str",
            max_length=REPORT_URL_MAX,
            example="https://example.org/reports/2026-10.pdf",
            description="URL of the GHG statement report, reachable by the verifier; required when submitting.",
        ),
        Column(
            "facility_id",
            "ref",
            id_kind="facility",
            example="fcl_1SBXKILNFACILITY1",
            description="Default facility (fcl_ ID, from the Certify UI: no endpoint lists facilities) of the "
            "production_batches rows that leave theirs empty.",
        ),
        Column(
            "supplier_reference_prefix",
            "str",
            max_length=40,
            example="acme-2026-10",
            description="Prefix of derived supplier reference IDs; default: the project ID.",
        ),
    ),
    key_value=True,
    has_ref=False,
    unique=(),
)

SOURCES = Sheet(
    "sources",
    "Evidence documents. Each file is uploaded to Isometric and cited by datapoints.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="weighbridge-oct",
            description="Your short name for this row, unique in the sheet; other sheets cite it.",
        ),
        Column("display_name", "str", required=True, max_length=NAME_MAX, example="Weighbridge tickets Oct"),
        Column(
            "file",
            "file",
            required=True,
            example="evidence/weighbridge-oct.pdf",
            description="Path relative to the workbook's folder.",
        ),
        Column("published_at", "date", required=True, example="2026-10-31"),
        Column(
            "description",
            "str",
            example="Scanned weighbridge tickets",
            description="Sent as the source's description; a changed one is updated, an emptied one cleared.",
        ),
        Column("is_public", "bool", default=False, example="FALSE"),
        srid_column(),
    ),
)

DATAPOINTS = Sheet(
    "datapoints",
    "Measured or reported values, each citing its evidence.",
    (
        Column("ref", "str", required=True, max_length=NAME_MAX, example="biochar-mass-b1"),
        Column("display_name", "str", required=True, max_length=NAME_MAX, example="Biochar mass batch 1"),
        Column(
            "description",
            "str",
            required=True,
            max_length=DESCRIPTION_MAX,
            example="Dry mass of biochar produced, batch 1",
        ),
        Column("type", "enum", required=True, choices=DATAPOINT_TYPES, example="REPORTED"),
        Column("magnitude", "number", required=True, example="12.5"),
        Column("unit", "unit", required=True, example="t"),
        Column("standard_deviation", "number", minimum=0, example="0.2"),
        Column("measured_at", "datetime", example="2026-10-15"),
        Column(
            "source_refs",
            "refs",
            ref_sheet="sources",
            id_kind="source",
            example="weighbridge-oct, src_1EBBF4M7X1S06G1Y",
            description="Comma-separated refs of the sources sheet or existing src_ IDs.",
        ),
        Column("uncertainty_justification", "str", example="Scale calibrated to +/-1%"),
        srid_column(),
    ),
    makes_objects=True,
)

FEEDSTOCK_TYPES = Sheet(
    "feedstock_types",
    "Existing feedstock types the entries use (optional sheet). The API cannot create a feedstock type: create it "
    "in the Certify UI, then name it here by its ftt_ ID or by its name exactly as Isometric shows it.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="sawmill-offcuts",
            description="Your short name for this type; the entries sheet's feedstock_type cites it.",
        ),
        Column(
            "feedstock_type_id",
            "ref",
            id_kind="feedstock_type",
            example="ftt_1SBXSAWMILLOFF01",
            description="The type's ftt_ ID, copied from the Certify UI. With it, a different name below renames "
            "the type (a PATCH).",
        ),
        Column(
            "name",
            "str",
            example="Sawmill offcuts",
            description="The type's name as Isometric shows it (trimmed, case-sensitive); needed when no ID is given.",
        ),
        Column(
            "supplier_reference_id",
            "str",
            max_length=NAME_MAX,
            example="acme-ftt-sawmill-offcuts",
            description="Optional: the type's own supplier reference. Looked up before the name; given on a type "
            "matched by ID or name that has another one, it is set (a PATCH). Never derived: a type made in the "
            "Certify UI is never claimed under the workbook's prefix.",
        ),
    ),
    required=False,
)

ENTRIES = Sheet(
    "entries",
    "GHG entries, each made from one of the project's GHG entry templates.",
    (
        Column("ref", "str", required=True, max_length=NAME_MAX, example="batch-2026-10-01"),
        Column(
            "template",
            "str",
            required=True,
            example="Monthly production batch",
            description="A rvt_ ID or the template's display name.",
        ),
        Column("started_on", "date", required=True, example="2026-10-01"),
        Column("completed_on", "date", required=True, example="2026-10-15", description="On or after started_on."),
        Column(
            "feedstock_type", "ref", ref_sheet="feedstock_types", id_kind="feedstock_type", example="sawmill-offcuts"
        ),
        srid_column(),
    ),
    makes_objects=True,
)

ENTRY_INPUTS = Sheet(
    "entry_inputs",
    "The monitored inputs of each GHG entry: which datapoints feed which template component input.",
    (
        Column("entry_ref", "ref", required=True, ref_sheet="entries", example="batch-2026-10-01"),
        Column(
            "template_component",
            "str",
            required=True,
            example="Biochar sequestration",
            description="A rtc_ ID, or the template component's display name or blueprint key.",
        ),
        Column("input_key", "str", required=True, max_length=100, example="biochar_mass"),
        Column(
            "datapoint_refs",
            "refs",
            required=True,
            ref_sheet="datapoints",
            also_sheets=("sample_values",),
            id_kind="datapoint",
            example="biochar-mass-b1",
            description="One datapoint for a scalar input, one or more (comma-separated) for a list input: refs "
            "of the datapoints sheet, dtp_ IDs, or refs of the sample_values sheet (the datapoint Isometric made of "
            "a lab value). Replicates (several values of one property of one sample) need a list input.",
        ),
        Column(
            "expected_unit",
            "str",
            example="t",
            description="Informational, filled by `isometric-import template`: the unit the blueprint input "
            "expects (any convertible unit is accepted). Ignored on import.",
        ),
        Column(
            "shape",
            "str",
            example="scalar",
            description="Informational, filled by `isometric-import template`: scalar (one datapoint) or list "
            "(one or more). Ignored on import.",
        ),
    ),
    has_ref=False,
    unique=(),
)

COMPONENTS = Sheet(
    "components",
    "Extra components attached to (or template components removed from) GHG entries, and emissions shared across "
    "entries (optional sheet): scope project (amortised over the project by allocation_strategy) or statement "
    "(this workbook's statement, attributed evenly to its entries).",
    (
        Column("ref", "str", required=True, max_length=NAME_MAX, example="generator-diesel-oct"),
        Column(
            "entry_ref",
            "ref",
            ref_sheet="entries",
            example="batch-2026-10-01",
            description="The GHG entry the component is attributed to: required for scope entry, empty for project "
            "and statement.",
        ),
        Column("action", "enum", choices=COMPONENT_ACTIONS, default="add", example="add"),
        Column(
            "blueprint_key",
            "str",
            example="fuel-combustion",
            description="Blueprint to create the component from (action add).",
        ),
        Column("display_name", "str", max_length=NAME_MAX, example="Site generator diesel"),
        Column("description", "str", example="Diesel burnt by the site generator in October"),
        Column("activity_started_at", "datetime", example="2026-10-01"),
        Column("activity_completed_at", "datetime", example="2026-10-31"),
        Column("group", "str", example="energy-use", description="The template's component group key."),
        Column(
            "attribution_factor", "number", minimum=0, maximum=1, exclusive_minimum=True, default=1.0, example="0.5"
        ),
        Column(
            "template_component",
            "str",
            example="Pyrolysis electricity",
            description="For action remove: the entry's template component to drop (rtc_ ID, display "
            "name or blueprint key).",
        ),
        srid_column(),
        Column(
            "scope",
            "enum",
            choices=COMPONENT_SCOPES,
            default="entry",
            example="entry",
            description="entry (the default): attributed to entry_ref's GHG entry; project: a project component "
            "(plant construction, the kiln's embodied emissions) amortised by allocation_strategy; statement: a "
            "component of this workbook's GHG statement (a month's staff travel), attributed evenly to its entries.",
        ),
        Column(
            "allocation_strategy",
            "enum",
            choices=ALLOCATION_STRATEGIES,
            example="ESTIMATED_PROJECT_LIFETIME",
            description="Scope project only: how Isometric amortises it. MANUAL: the project_component_attributions "
            "sheet gives each entry's share; the tonnage strategies must fit the credit type (REMOVAL or REDUCTION).",
        ),
    ),
    required=False,
)

PROJECT_COMPONENT_ATTRIBUTIONS = Sheet(
    "project_component_attributions",
    "Shares of MANUAL project components (optional sheet): which GHG entry carries what fraction of a components row "
    "of scope project with allocation_strategy MANUAL. A component's factors sum to at most 1.",
    (
        Column(
            "component",
            "ref",
            required=True,
            ref_sheet="components",
            example="kiln-embodied",
            description="A ref of the components sheet (scope project, allocation_strategy MANUAL).",
        ),
        Column(
            "entry",
            "ref",
            required=True,
            ref_sheet="entries",
            id_kind="ghg_entry",
            example="batch-2026-10-01",
            description="A ref of the entries sheet or an rmv_ ID.",
        ),
        Column(
            "attribution_factor",
            "number",
            required=True,
            minimum=0,
            maximum=1,
            exclusive_minimum=True,
            example="0.25",
            description="The fraction of the component's CO2e this entry carries: more than 0, at most 1.",
        ),
    ),
    required=False,
    has_ref=False,
    unique=(),
)

COMPONENT_INPUTS = Sheet(
    "component_inputs",
    "Inputs of the extra components (optional sheet).",
    (
        Column("component_ref", "ref", required=True, ref_sheet="components", example="generator-diesel-oct"),
        Column("input_key", "str", required=True, max_length=100, example="fuel_volume"),
        Column(
            "datapoint_refs",
            "refs",
            required=True,
            ref_sheet="datapoints",
            also_sheets=("sample_values",),
            id_kind="datapoint",
            example="generator-diesel-litres",
            description="Refs of the datapoints or sample_values sheets, or dtp_ IDs (as in entry_inputs).",
        ),
    ),
    required=False,
    has_ref=False,
    unique=(),
)

#: the contract's StorageMethod enum
STORAGE_METHODS = (
    "biochar_field",
    "biochar_landfill",
    "permeable_reservoir",
    "biomass_subsurface",
    "salt_cavern",
    "saline_aquifer",
    "in_situ_mineralization",
    "depleted_hydrocarbon_reservoir",
)

STORAGE_LOCATIONS = Sheet(
    "storage_locations",
    "Storage locations (optional sheet): the fields or sites where biochar is stored, registered once and reused "
    "for months. A changed row updates the location (a PATCH). A beta feature of the API that Isometric enables per "
    "organisation.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="north-field",
            description="Your short name for this location, unique in the sheet; a later workbook may cite the "
            "location by its slc_ ID instead.",
        ),
        Column("name", "str", required=True, max_length=NAME_MAX, example="North field"),
        Column(
            "latitude",
            "number",
            required=True,
            minimum=-90,
            maximum=90,
            example="52.0907",
            description="WGS84 latitude in decimal degrees, -90 to 90.",
        ),
        Column(
            "longitude",
            "number",
            required=True,
            minimum=-180,
            maximum=180,
            example="5.1214",
            description="WGS84 longitude in decimal degrees, -180 to 180.",
        ),
        Column(
            "storage_method",
            "enum",
            choices=STORAGE_METHODS,
            example="biochar_field",
            description="How the carbon is stored there; empty: left to Isometric.",
        ),
        Column("description", "str", example="Arable field north of the plant"),
        srid_column(),
    ),
    required=False,
    makes_objects=True,
)

PRODUCTION_BATCHES = Sheet(
    "production_batches",
    "Production batches (optional sheet): each batch of biochar produced (facility, feedstock types, start and "
    "end, mass). The API cannot update a batch: a changed row is replaced (deleted and created anew) only with "
    "--replace, together with the applications citing it.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="batch-2026-10-a",
            description="Your short name for this batch; biochar_applications cite it. A later workbook may cite "
            "the batch by its ptb_ ID instead.",
        ),
        Column(
            "display_name",
            "str",
            max_length=NAME_MAX,
            example="Kiln 1, 1-14 October",
            description="Empty: Isometric names it after the facility.",
        ),
        Column(
            "facility_id",
            "ref",
            id_kind="facility",
            example="fcl_1SBXKILNFACILITY1",
            description="The facility's fcl_ ID, from the Certify UI; empty: the project sheet's facility_id.",
        ),
        Column(
            "feedstock_types",
            "refs",
            required=True,
            ref_sheet="feedstock_types",
            id_kind="feedstock_type",
            example="sawmill-offcuts",
            description="Comma-separated refs of the feedstock_types sheet or ftt_ IDs.",
        ),
        Column("started_at", "datetime", required=True, example="2026-10-01 06:00"),
        Column(
            "ended_at",
            "datetime",
            required=True,
            example="2026-10-14 18:00",
            description="After started_at, and less than a month later (Isometric's biochar requirements).",
        ),
        *mass_columns(
            "The batch's biochar mass (the document does not say dry or wet: follow your methodology).",
            example="12.5",
            deviation="0.1",
        ),
        srid_column(),
    ),
    required=False,
    makes_objects=True,
)

BIOCHAR_APPLICATIONS = Sheet(
    "biochar_applications",
    "Biochar applications (optional sheet): each spreading of one batch's biochar on one storage location, with "
    "the truck weighed on arrival and departure. The API cannot update an application: a changed row is replaced "
    "only with --replace.",
    (
        Column("ref", "str", required=True, max_length=NAME_MAX, example="spread-2026-10-20-north"),
        Column(
            "production_batch",
            "ref",
            required=True,
            ref_sheet="production_batches",
            id_kind="production_batch",
            example="batch-2026-10-a",
            description="A ref of the production_batches sheet or a ptb_ ID. One batch per application: a "
            "spreading from two batches is two rows.",
        ),
        Column(
            "storage_location",
            "ref",
            required=True,
            ref_sheet="storage_locations",
            id_kind="storage_location",
            example="north-field",
            description="A ref of the storage_locations sheet or an slc_ ID.",
        ),
        Column(
            "application_date",
            "date",
            required=True,
            example="2026-10-20",
            description="Not before its batch's production ended.",
        ),
        Column("application_rate", "number", required=True, minimum=0, example="10"),
        Column(
            "application_rate_unit",
            "unit",
            required=True,
            example="t/ha",
            description="Mass per area.",
            measures="mass per area",
        ),
        Column("truck_mass_on_arrival", "number", required=True, minimum=0, example="18.4"),
        Column(
            "truck_mass_on_departure",
            "number",
            minimum=0,
            default=0.0,
            example="12.1",
            description="At most the arrival mass. Without a weighbridge, give the net mass as the arrival mass and "
            "0 here (a convention Isometric support confirmed to an integrator; not in the document).",
        ),
        Column("truck_mass_unit", "unit", required=True, example="t", description="A unit of mass.", measures="mass"),
        Column(
            "source_refs",
            "refs",
            ref_sheet="sources",
            id_kind="source",
            example="weighbridge-oct",
            description="Evidence, such as the weighbridge ticket: refs of the sources sheet or src_ IDs.",
        ),
        Column(
            "entry",
            "ref",
            ref_sheet="entries",
            example="batch-2026-10-01",
            description="Optional: the ref of the GHG entry this spreading belongs to. Kept in the report's lineage "
            "only (Isometric sets that link itself).",
        ),
        srid_column(),
    ),
    required=False,
    makes_objects=True,
)

MEASUREMENT_LOCATIONS = Sheet(
    "measurement_locations",
    "Measurement locations (optional sheet): the GPS points where field teams sample (soil, say). The API cannot "
    "update a location: a changed row needs a new ref.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="north-field-p1",
            description="Your short name for this point; samples cite it. A later workbook may cite its mlc_ ID.",
        ),
        Column("latitude", "number", required=True, minimum=-90, maximum=90, example="57.7089"),
        Column("longitude", "number", required=True, minimum=-180, maximum=180, example="11.9746"),
        srid_column(),
    ),
    required=False,
    makes_objects=True,
)

SAMPLE_TARGETS = ("production_batch", "storage_location", "measurement_location", "feedstock_batch")

SAMPLES = Sheet(
    "samples",
    "Measurement samples (optional sheet): what the lab or a field team measured, taken from at most one "
    "production batch, storage location, measurement location or feedstock batch. Their values are on the "
    "sample_values sheet. The API cannot update a sample: a changed sample or value is replaced (deleted and "
    "created anew, its entries re-bound) only with --replace, never once an entry of a submitted statement uses it.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="lab-2026-10-a",
            description="Your short name for this sample; sample_values cite it.",
        ),
        Column(
            "measurement_type",
            "enum",
            required=True,
            choices=MEASUREMENT_TYPES,
            example="biochar_production_batch",
            description="The contract's MeasurementTypeKey.",
        ),
        Column("measured_at", "datetime", required=True, example="2026-10-16"),
        Column(
            "production_batch",
            "ref",
            ref_sheet="production_batches",
            id_kind="production_batch",
            example="batch-2026-10-a",
            description="The batch sampled: a ref of the production_batches sheet or a ptb_ ID.",
        ),
        Column(
            "storage_location",
            "ref",
            ref_sheet="storage_locations",
            id_kind="storage_location",
            description="Or the storage location sampled: a ref of the storage_locations sheet or an slc_ ID.",
        ),
        Column(
            "measurement_location",
            "ref",
            ref_sheet="measurement_locations",
            id_kind="measurement_location",
            description="Or the point sampled: a ref of the measurement_locations sheet or an mlc_ ID.",
        ),
        Column(
            "feedstock_batch",
            "ref",
            ref_sheet="feedstock_batches",
            id_kind="feedstock_batch",
            description="Or the feedstock batch sampled: a ref of the feedstock_batches sheet or an ftb_ ID. At most "
            "one of the four.",
        ),
        Column(
            "source_refs",
            "refs",
            ref_sheet="sources",
            id_kind="source",
            example="lab-certificate-oct",
            description="The lab certificate: refs of the sources sheet or src_ IDs. The API takes no evidence for "
            "a sample: the importer shows it in the report's lineage and attaches it to the entries using the "
            "sample's values (see 'Lab results' in this document).",
        ),
        srid_column(),
    ),
    required=False,
    makes_objects=True,
)

SAMPLE_VALUES = Sheet(
    "sample_values",
    "The values of each sample (optional sheet), one row per value; several rows of one property of one sample "
    "are replicates. Each becomes a datapoint locked to the sample, which entry_inputs and component_inputs cite "
    "by this sheet's ref.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="lab-2026-10-a-oc1",
            description="Your short name for this value; entry_inputs and component_inputs cite it.",
        ),
        Column("sample", "ref", required=True, ref_sheet="samples", example="lab-2026-10-a"),
        Column(
            "quantity_kind",
            "enum",
            required=True,
            choices=QUANTITY_KINDS,
            example="mass_fraction",
            description="The contract's QuantityKindType (66 kinds).",
        ),
        Column(
            "qualifier",
            "enum",
            choices=QUALIFIERS,
            example="total_organic_carbon",
            description="The contract's QuantityKindQualifierType (empty: none). The document does not say which "
            "qualifiers a measurement type allows, so the dropdown lists them all.",
        ),
        Column("magnitude", "number", required=True, example="0.71"),
        Column("unit", "unit", example="dimensionless", description="Empty: dimensionless."),
        Column("standard_deviation", "number", minimum=0, example="0.01", description="In the value's unit."),
    ),
    required=False,
    unique=("ref",),
)

#: the words of an entry input key that holds the biochar's mass (blueprints name it so: `biochar_mass`)
_BIOCHAR_MASS_WORDS = frozenset({"biochar", "mass"})


def holds_biochar_mass(input_key: str) -> bool:
    """Whether an entry input (entry_inputs.input_key) is the entry's biochar mass, which the chain of custody's
    net applied mass is compared with (validation's warning, the report's chain section)."""
    return set(input_key.lower().replace("-", "_").split("_")) >= _BIOCHAR_MASS_WORDS


#: the format's sheets, in the order they are read and checked: the ones declared here, then those kinds declare
#: themselves (`register`); grows only through `register`
SHEETS: list[Sheet] = [
    PROJECT,
    SOURCES,
    DATAPOINTS,
    FEEDSTOCK_TYPES,
    ENTRIES,
    ENTRY_INPUTS,
    COMPONENTS,
    COMPONENT_INPUTS,
    PROJECT_COMPONENT_ATTRIBUTIONS,
    STORAGE_LOCATIONS,
    PRODUCTION_BATCHES,
    BIOCHAR_APPLICATIONS,
    MEASUREMENT_LOCATIONS,
    SAMPLES,
    SAMPLE_VALUES,
]
SHEETS_BY_NAME: dict[str, Sheet] = {s.name: s for s in SHEETS}


def register(*sheets: Sheet) -> None:
    """Add the sheets a kind declares itself (each with its `row_type`) to the format: read, checked, typed,
    written into the template and described like the sheets declared here. Registering a sheet again is a no-op;
    another sheet of the same name is refused."""
    for sheet in sheets:
        held = SHEETS_BY_NAME.get(sheet.name)
        if held is sheet:
            continue
        if held is not None:
            raise ValueError(f"the workbook format already has a sheet named {sheet.name!r}")
        if sheet.row_type is None:
            raise ValueError(f"sheet {sheet.name!r} declares no row_type: its rows would have no typed form")
        SHEETS.append(sheet)
        SHEETS_BY_NAME[sheet.name] = sheet


def plug_ins() -> None:
    """Load the sheets kinds declare themselves (`importer.register_kinds`: the kinds register them here), when
    the whole format is needed: a workbook naming a sheet not declared here, the template, a writer of such a
    sheet. Validating a workbook of the sheets declared here never imports the planner."""
    import importer

    importer.register_kinds()


def normalise_header(text: object) -> str:
    """Header matching ignores case, surrounding spaces, and spaces vs underscores."""
    return " ".join(str(text).strip().lower().replace("_", " ").split()).replace(" ", "_")
