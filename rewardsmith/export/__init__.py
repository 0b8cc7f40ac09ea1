"""Export a run's best reward as a module that depends only on numpy and gymnasium."""

from rewardsmith.export.extractor import ExportError, extractor_source
from rewardsmith.export.module import ExportInfo, export_run, render_module

__all__ = ["ExportError", "ExportInfo", "export_run", "extractor_source", "render_module"]
