"""JSON as it crosses the importer's boundaries: the API's bodies, the run's and the plan's files.

`JSONValue` is what `json.loads` gives (and `json.dumps` takes): a string, number, boolean, null, or a list or
object of JSON values. A body read from the API is a `JSONValue` until it is validated into a model; a body
sent to it, or a record written to a file, is a `JSONObject`. Code that only passes a body on, or reads a few
keys of it, takes `Mapping[str, object]`.

A leaf module (it imports nothing of the importer), so every layer may use it.
"""

from __future__ import annotations

from typing import TypeAlias

JSONScalar: TypeAlias = str | int | float | bool | None
JSONValue: TypeAlias = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject: TypeAlias = dict[str, JSONValue]
JSONArray: TypeAlias = list[JSONValue]

__all__ = ["JSONArray", "JSONObject", "JSONScalar", "JSONValue"]
