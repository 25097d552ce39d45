"""Isometric workbook importer: a standardized Excel workbook in, Isometric Certify API objects out.

Data flows one way: read workbook -> validate -> resolve references -> plan -> execute -> report.
The API client (`importer.api`) knows nothing of workbooks, and the workbook layer (`importer.workbook`)
knows nothing of HTTP.
"""

__version__ = "0.1.0"
