"""Campaigns: one synthesis per task x designer x seed, over one shared executor.

``spec`` parses and validates the campaign file, ``plan`` estimates its cost, ``manifest``
keeps each cell's state in ``campaign.json`` and ``runner`` runs the missing cells.
"""
