"""Clients of the vendor APIs: they speak the vendors' JSON and hand domain values inwards."""
