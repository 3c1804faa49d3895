"""radassure.dicom (filled by later issues)."""

__all__: list[str] = []
