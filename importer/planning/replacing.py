"""What the kinds the API cannot update (no PATCH: production batches, biochar applications) share: the first half
of a replace (the old object's delete), and comparing a quantity the API holds with the workbook's by converting.
`Planning.replaced` (`importer.planning.common`) plans the replace; this module applies its delete."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from importer.planning.env import Applied, ApplyEnv
from importer.planning.model import Action

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m


def delete_replaced(action: Action, env: ApplyEnv, *, noun: str) -> Applied:
    """The first half of a replace: delete the old object. One already gone counts as deleted; a refusal (the API
    keeps what still cites it, say) is a conflict that names the object, and its replace never starts."""
    from importer.api.errors import Conflict, NotFound, ValidationFailed

    assert action.existing_id is not None
    try:
        env.client.delete(action.kind, action.existing_id, project_id=env.project_id)
    except NotFound:
        pass
    except (Conflict, ValidationFailed) as exc:
        raise Conflict(
            f"{noun} {action.existing_id} ({action.supplier_reference_id}) could not be replaced: the API refused to "
            f"delete it ({exc.message}); nothing was created in its place",
            status=exc.status,
            detail=exc.detail,
            method=exc.method,
            url=exc.url,
            request_id=exc.request_id,
        ) from exc
    return Applied(id=action.existing_id, status="deleted")


def same_quantity(before: m.Quantity, magnitude: float, unit: str, sd: float | None) -> bool:
    """Whether a quantity the API holds is the one the workbook gives, compared by converting (the API may answer
    `kg` as `kilogram`): magnitudes and standard deviations alike in the workbook's unit."""
    from importer.units import UnitError, conversion_factor

    held = before.unit or ""
    if held == unit:
        factor = 1.0
    else:
        try:
            factor = conversion_factor(held, unit)
        except UnitError:
            return False
    if not math.isclose(before.magnitude * factor, magnitude, rel_tol=1e-9, abs_tol=1e-12):
        return False
    if before.standard_deviation is None or sd is None:
        return before.standard_deviation is None and sd is None
    return math.isclose(before.standard_deviation * factor, sd, rel_tol=1e-9, abs_tol=1e-12)
