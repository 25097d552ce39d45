"""The checks of offline validation, one module per stage (`importer.workbook.validate` is the entry point, and
imports them while the workbook is being read; this package's `__init__` imports nothing, so the entry point's
`result` costs nothing more):

- `project`: which sheets the workbook holds, and the project sheet's settings;
- `sheets`: each data sheet's headers, merged cells, blank, hidden and struck rows, then its columns parsed
  (`cells`) and read as the cells show them (`readings`: number formats, text numbers, units, signs);
- `schema_findings`: each sheet's schema (whole columns first, pandera when needed);
- `evidence_files`: the files the sources sheet names;
- `references`, `row_rules`: cross-sheet references, and the rules within a row;
- `typed_rows`: the typed rows built, and supplier_reference_id uniqueness on them;
- `order`: the order findings are shown in;
- `coordinator`: `Validator`, which runs the stages in that order; `base`: the state they share;
- `result`: `ValidationResult`, what a validation returns.
"""
