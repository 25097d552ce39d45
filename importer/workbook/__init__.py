"""The standardized workbook: its format (`spec`), reading (`reader`), validation (`validate`) and the
typed, validated content (`model`) that the planner consumes. Nothing here speaks HTTP."""
