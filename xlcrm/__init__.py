"""xlcrm: customer management for small Japanese shops, inside the Excel workbook they already have."""

__version__ = "0.1.0"
