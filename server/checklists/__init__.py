"""The brand and checklist file format and its loader: pure, no web or database imports."""

from server.checklists.format import AnyItem, Brand, Checklist  # noqa: F401
from server.checklists.loader import (  # noqa: F401
    ChecklistError,
    LoadedBrand,
    LoadedChecklist,
    is_scored,
    load_brand,
    load_brand_files,
    load_brands,
    parse_brand,
    parse_checklist,
    version_of,
)
